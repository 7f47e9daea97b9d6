package dev

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/joho/godotenv"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/excerpt"
)

// MaxEnvFileSize caps an env file.
const MaxEnvFileSize = 1 << 20

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseEnv parses an env file: KEY=value lines, # comments, an optional
// `export ` and single or double quotes (double quotes expand \n and
// ${KEY} of keys set earlier in the file). Every key must be a valid
// environment variable name. name is the file's name for messages.
func ParseEnv(r io.Reader, name string) (map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxEnvFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxEnvFileSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", nua.ErrInvalid, name, MaxEnvFileSize)
	}
	vars, err := godotenv.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s%s", nua.ErrInvalid, name, describe(data, err))
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if k == "" {
			return nil, fmt.Errorf("%w: %s%s: not KEY=value", nua.ErrInvalid, name, lineOf(data, ""))
		}
		if !envKeyRE.MatchString(k) {
			return nil, fmt.Errorf("%w: %s%s: %q is not a variable name: use letters, digits and underscores, not starting with a digit",
				nua.ErrInvalid, name, lineOf(data, k), excerpt.Of(k))
		}
		if strings.ContainsRune(vars[k], 0) {
			return nil, fmt.Errorf("%w: %s: the value of %s contains a NUL byte", nua.ErrInvalid, name, k)
		}
	}
	return vars, nil
}

// lineOf returns " line N" for the first line that sets key, or, for "",
// the first line that sets nothing; "" if there is none. It only serves
// messages: a quoted value over several lines can mislead it.
func lineOf(data []byte, key string) string {
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "export "))
		i := strings.IndexAny(line, "=:")
		if (i < 0 && key == "") || (i >= 0 && strings.TrimSpace(line[:i]) == key) {
			return " line " + strconv.Itoa(n)
		}
	}
	return ""
}

// LoadEnvFiles reads paths in order, later files overriding earlier ones.
// With optional, a missing file is skipped; otherwise it is an error.
func LoadEnvFiles(paths []string, optional bool) (map[string]string, error) {
	vars := map[string]string{}
	for _, path := range paths {
		f, err := os.Open(path)
		if optional && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: env file %s does not exist", nua.ErrInvalid, path)
		}
		if err != nil {
			return nil, fmt.Errorf("open env file: %w", err)
		}
		got, err := ParseEnv(f, path)
		f.Close()
		if err != nil {
			return nil, err
		}
		for k, v := range got {
			vars[k] = v
		}
	}
	return vars, nil
}

// Environ returns base (KEY=VALUE entries) with vars set over it, vars
// sorted by key.
func Environ(base []string, vars map[string]string) []string {
	env := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, set := vars[k]; !set {
			env = append(env, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return env
}

// basePort picks the base port as foreman does: -p, else PORT from the env
// files, else PORT from the environment, else 5000.
func basePort(flag int, vars map[string]string, environ []string) (int, error) {
	if flag != 0 {
		return flag, nil
	}
	from, port := "the env files", vars["PORT"]
	if port == "" {
		from = "the environment"
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, "PORT="); ok {
				port = v
			}
		}
	}
	if port == "" {
		return DefaultPort, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%w: PORT=%q in %s is not a port: fix it or give -p", nua.ErrInvalid, excerpt.Of(port), from)
	}
	return n, nil
}

// describe turns a godotenv error into " line N: what", finding the line
// from the text the error quotes.
func describe(data []byte, err error) string {
	msg, snippet := err.Error(), ""
	if head, near, ok := strings.Cut(msg, " near "); ok {
		if s, uerr := strconv.Unquote(near); uerr == nil {
			msg, snippet = head, s
		}
	} else if rest, ok := strings.CutPrefix(msg, "unterminated quoted value "); ok {
		msg, snippet = "unterminated quoted value", rest
	}
	if msg == `unexpected character "\n" in variable name` {
		msg = "not KEY=value"
	}
	snippet, _, _ = strings.Cut(snippet, "\n")
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		if snippet = strings.TrimSpace(snippet); snippet != "" && strings.Contains(line, snippet) {
			return fmt.Sprintf(" line %d: %s", n, excerpt.Of(msg))
		}
	}
	return ": " + excerpt.Of(msg)
}
