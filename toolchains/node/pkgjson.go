package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxPackageJSON bounds the package.json the toolchain reads.
const maxPackageJSON = 4 << 20

// pkg is what the toolchain needs from package.json.
type pkg struct {
	Scripts map[string]string `json:"scripts"`
	Engines engines           `json:"engines"`
	// PackageManager is the packageManager field: "pnpm@9.1.0", with an
	// optional "+sha512.HEX" that nua does not check.
	PackageManager string `json:"packageManager"`
	// Deps is the canonical form of the fields that decide what gets
	// installed; it is part of the node_modules cache key.
	Deps string `json:"-"`
}

// engines are the runtime and package manager versions package.json asks
// for, as semver ranges ("" = any).
type engines struct {
	Node string `json:"node"`
	Npm  string `json:"npm"`
	Yarn string `json:"yarn"`
	Pnpm string `json:"pnpm"`
}

// depFields are the package.json fields that change what an install puts
// in node_modules.
var depFields = []string{
	"dependencies", "devDependencies", "optionalDependencies", "peerDependencies",
	"bundleDependencies", "bundledDependencies", "overrides", "resolutions",
	"pnpm", "workspaces", "packageManager",
}

// parsePackage parses the content of package.json. Its errors name the
// file and, for bad JSON, the line and column.
func parsePackage(data []byte) (pkg, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return pkg{}, jsonError(data, err)
	}
	if raw == nil {
		return pkg{}, errors.New("package.json is not a JSON object: want {\"name\": ..., \"dependencies\": {...}}")
	}
	var p pkg
	for field, dst := range map[string]any{"scripts": &p.Scripts, "engines": &p.Engines, "packageManager": &p.PackageManager} {
		v, ok := raw[field]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return pkg{}, fieldError(field, err)
		}
	}
	var deps strings.Builder
	for _, field := range depFields {
		v, ok := raw[field]
		if !ok {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return pkg{}, jsonError(data, err)
		}
		fmt.Fprintf(&deps, "%s=%s\n", field, buf.Bytes())
	}
	p.Deps = deps.String()
	return p, nil
}

// jsonError turns a decoding error into one that names package.json and,
// for a syntax error, where it is.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := position(data, syn.Offset)
		return fmt.Errorf("package.json is not valid JSON: line %d, column %d: %s", line, col, syn.Error())
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field == "" {
		return fmt.Errorf("package.json is not a JSON object (found %s)", typ.Value)
	}
	return fmt.Errorf("package.json is not valid JSON: %w", err)
}

// fieldError names the package.json field whose value has the wrong type.
func fieldError(field string, err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		name := field
		if typ.Field != "" {
			name += "." + typ.Field
		}
		return fmt.Errorf("package.json: %s must be %s, not a JSON %s", name, kind(typ.Type.String()), typ.Value)
	}
	return fmt.Errorf("package.json: %s: %w", field, err)
}

func kind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "node."):
		return "an object"
	}
	return goType
}

// position returns the 1-based line and column of byte offset off in data.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

// managerVersion returns the version of package manager name that the
// packageManager field names, or "".
func (p pkg) managerVersion(name string) string {
	n, v, ok := strings.Cut(p.PackageManager, "@")
	if !ok || n != name {
		return ""
	}
	v, _, _ = strings.Cut(v, "+")
	return v
}
