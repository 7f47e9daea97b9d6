package nua

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// maxAppJSON bounds app.json; real ones are a few KiB.
const maxAppJSON = 1 << 20

// AppJSON is what nua reads of an app's app.json manifest.
type AppJSON struct {
	Formation    map[string]FormationEntry `json:"formation,omitempty"`
	Healthchecks map[string][]Healthcheck  `json:"healthchecks,omitempty"`
	Scripts      struct {
		Postdeploy string `json:"postdeploy,omitempty"`
	} `json:"scripts,omitzero"`
	// Cron are jobs run on a schedule, each a one-off in the current
	// release.
	Cron []CronJob `json:"cron,omitempty"`
	// Addons are made and attached on the app's first deploy.
	Addons []AddonSpec `json:"addons,omitempty"`
}

// FormationEntry is the initial scale of a process type.
type FormationEntry struct {
	Quantity int `json:"quantity"`
}

// Healthcheck is a check new instances must pass before they get traffic.
// Without one, an instance is healthy once its port accepts connections.
type Healthcheck struct {
	Type     string `json:"type,omitempty"` // "startup" (the only kind nua runs)
	Name     string `json:"name,omitempty"`
	Path     string `json:"path"`               // HTTP path answered 2xx or 3xx
	Attempts int    `json:"attempts,omitempty"` // default 3
	Timeout  int    `json:"timeout,omitempty"`  // seconds per attempt, default 5
	Wait     int    `json:"wait,omitempty"`     // seconds between attempts, default 1
}

// WithDefaults returns h with the defaults of Attempts, Timeout and Wait
// filled in.
func (h Healthcheck) WithDefaults() Healthcheck {
	h.Attempts = defaultInt(h.Attempts, 3)
	h.Timeout = defaultInt(h.Timeout, 5)
	h.Wait = defaultInt(h.Wait, 1)
	return h
}

func defaultInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// ReadAppJSON reads dir/app.json; a missing file is an empty manifest.
func ReadAppJSON(dir string) (AppJSON, error) {
	f, err := os.Open(filepath.Join(dir, "app.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return AppJSON{}, nil
	}
	if err != nil {
		return AppJSON{}, fmt.Errorf("app.json: %w", err)
	}
	defer f.Close()
	return ParseAppJSON(io.LimitReader(f, maxAppJSON+1))
}

// ParseAppJSON parses and checks an app.json manifest.
func ParseAppJSON(r io.Reader) (AppJSON, error) {
	var m AppJSON
	data, err := io.ReadAll(r)
	if err != nil {
		return m, fmt.Errorf("app.json: %w", err)
	}
	if len(data) > maxAppJSON {
		return m, fmt.Errorf("%w: app.json is larger than %d bytes", ErrInvalid, maxAppJSON)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return AppJSON{}, fmt.Errorf("%w: app.json: %v", ErrInvalid, err)
	}
	return m, m.validate()
}

// maxScale bounds a formation quantity in app.json; ps:scale has its own cap.
const maxScale = 1000

// CheckScale checks that no formation quantity of app.json is over max,
// this server's cap on instances of one process type (--max-scale).
func (m AppJSON) CheckScale(max int) error {
	for _, typ := range slices.Sorted(maps.Keys(m.Formation)) {
		if q := m.Formation[typ].Quantity; q > max {
			return fmt.Errorf("%w: app.json formation.%s.quantity %d is over this server's cap of %d instances per process type (nua server --max-scale): lower it to %d or less", ErrInvalid, typ, q, max, max)
		}
	}
	return nil
}

func (m AppJSON) validate() error {
	for typ, f := range m.Formation {
		if !ValidProcessType(typ) {
			return fmt.Errorf("%w: app.json formation: %q is not a process type name", ErrInvalid, clip(typ))
		}
		if f.Quantity < 0 || f.Quantity > maxScale {
			return fmt.Errorf("%w: app.json formation.%s.quantity %d: use 0 to %d", ErrInvalid, typ, f.Quantity, maxScale)
		}
	}
	if err := checkCron(m.Cron); err != nil {
		return err
	}
	if err := checkAddonSpecs(m.Addons); err != nil {
		return err
	}
	for typ, checks := range m.Healthchecks {
		if !ValidProcessType(typ) {
			return fmt.Errorf("%w: app.json healthchecks: %q is not a process type name", ErrInvalid, clip(typ))
		}
		for i, h := range checks {
			if len(h.Path) == 0 || h.Path[0] != '/' || len(h.Path) > 1024 {
				return fmt.Errorf("%w: app.json healthchecks.%s[%d].path %q: give a path starting with /", ErrInvalid, typ, i, clip(h.Path))
			}
			if h.Type != "" && h.Type != "startup" {
				return fmt.Errorf("%w: app.json healthchecks.%s[%d].type %q: nua runs startup checks only", ErrInvalid, typ, i, clip(h.Type))
			}
			if h.Attempts > 100 || h.Timeout > 600 || h.Wait > 600 || h.Attempts < 0 || h.Timeout < 0 || h.Wait < 0 {
				return fmt.Errorf("%w: app.json healthchecks.%s[%d]: attempts up to 100, timeout and wait up to 600 seconds", ErrInvalid, typ, i)
			}
		}
	}
	return nil
}

// AddonSpec is an addon app.json asks for: a string naming its kind
// ("heroku-postgresql", "redis"), or an object with "plan" and "as".
type AddonSpec struct {
	Plan string `json:"plan"`
	As   string `json:"as,omitempty"`
}

// UnmarshalJSON reads a string or an object.
func (s *AddonSpec) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &s.Plan)
	}
	type plain AddonSpec
	return json.Unmarshal(data, (*plain)(s))
}

// maxManifestAddons bounds app.json's addons.
const maxManifestAddons = 10

func checkAddonSpecs(specs []AddonSpec) error {
	if len(specs) > maxManifestAddons {
		return fmt.Errorf("%w: app.json addons: at most %d", ErrInvalid, maxManifestAddons)
	}
	vars := map[string]bool{}
	for i, s := range specs {
		kind, err := ParseAddonKind(s.Plan)
		if err != nil {
			return fmt.Errorf("app.json addons[%d]: %w", i, err)
		}
		as := s.As
		if as == "" {
			as = kind.As
		} else if err := ValidateAttachmentName(as); err != nil {
			return fmt.Errorf("app.json addons[%d]: %w", i, err)
		}
		if vars[as] {
			return fmt.Errorf("%w: app.json addons[%d]: %s_URL is set by an earlier addon: give this one \"as\"", ErrInvalid, i, as)
		}
		vars[as] = true
	}
	return nil
}
