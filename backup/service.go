package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/nua-paas/nua"
)

// BundleName is the entry holding a git bundle of the app's repository.
const BundleName = "repo.bundle"

// Config sets up a Service.
type Config struct {
	Platform *nua.Platform
	// Dir is the local target; default DATA/backups.
	Dir string
	// KeyDir holds the server's age key (key.txt, made on first use) and
	// the extra recipients the operator adds (recipients.txt, one age
	// public key a line); default DATA/backup.
	KeyDir string
	Logger *slog.Logger
}

// Service captures, keeps and restores apps' backups for the platform.
type Service struct {
	cfg   Config
	p     *nua.Platform
	log   *slog.Logger
	keyMu sync.Mutex
	mu    sync.Mutex
	busy  map[string]bool // apps with a capture or restore under way
	// scratch are the drills' apps, left out of server backups.
	scratch map[string]bool
}

// New returns a Service; it touches nothing.
func New(cfg Config) *Service {
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(cfg.Platform.DataDir(), "backups")
	}
	if cfg.KeyDir == "" {
		cfg.KeyDir = filepath.Join(cfg.Platform.DataDir(), "backup")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, p: cfg.Platform, log: cfg.Logger, busy: map[string]bool{}, scratch: map[string]bool{}}
}

// Meta is what a backup's header holds of the app besides its files.
type Meta struct {
	App     nua.App      `json:"app"`
	Release *nua.Release `json:"release,omitempty"`
	Addons  []AddonMeta  `json:"addons,omitempty"`
}

// AddonMeta is one addon whose dump the backup holds.
type AddonMeta struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Entry string `json:"entry"`
	// As is its attachment to the app: DATABASE for DATABASE_URL.
	As string `json:"as,omitempty"`
}

// ErrBusy marks an app with a capture or restore under way.
var ErrBusy = errors.New("a backup or restore of this app is under way")

func (s *Service) claim(app string) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[app] {
		return nil, fmt.Errorf("%w: %w: wait for it to end", nua.ErrInvalid, ErrBusy)
	}
	s.busy[app] = true
	return func() { s.mu.Lock(); delete(s.busy, app); s.mu.Unlock() }, nil
}

// identity returns the server's age key, made on first use.
func (s *Service) identity() (*age.X25519Identity, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	path := filepath.Join(s.cfg.KeyDir, "key.txt")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(s.cfg.KeyDir, 0o700); err != nil {
			return nil, err
		}
		text := "# nua's backup key: without it no backup of this server can be opened. Keep a copy elsewhere.\n# public key: " + id.Recipient().String() + "\n" + id.String() + "\n"
		if err := writeFileAtomic(path, []byte(text)); err != nil {
			return nil, err
		}
		s.log.Info("backup key made", "path", path, "recipient", id.Recipient().String())
		return id, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup key: %w", err)
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(b)))
	if err != nil || len(ids) != 1 {
		return nil, fmt.Errorf("backup key %s: not one age identity: %v", path, err)
	}
	id, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, fmt.Errorf("backup key %s: not an X25519 identity", path)
	}
	return id, nil
}

// recipients are the server's key and those of recipients.txt.
func (s *Service) recipients(id *age.X25519Identity) ([]age.Recipient, error) {
	rs := []age.Recipient{id.Recipient()}
	path := filepath.Join(s.cfg.KeyDir, "recipients.txt")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rs, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	more, err := age.ParseRecipients(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return append(rs, more...), nil
}

func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// namedTarget is a target with the name backups record it by.
type namedTarget struct {
	name string
	t    Target
}

// targets are the local directory, then the S3 targets added.
func (s *Service) targets() ([]namedTarget, error) {
	out := []namedTarget{{nua.LocalTarget, Local{Dir: s.cfg.Dir}}}
	bs, err := s.p.BackupStore()
	if err != nil {
		return nil, err
	}
	ts, err := bs.BackupTargets()
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		tg, err := NewS3(S3Config{URL: t.URL, Endpoint: t.Endpoint, AccessKey: t.AccessKey, SecretKey: t.SecretKey, Region: t.Region})
		if err != nil {
			return nil, fmt.Errorf("backup target %s: %w", t.Name, err)
		}
		out = append(out, namedTarget{t.Name, tg})
	}
	return out, nil
}

func (s *Service) target(name string) (Target, error) {
	ts, err := s.targets()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ts, func(t namedTarget) bool { return t.name == name })
	if i < 0 {
		return nil, fmt.Errorf("backup target %s: %w", name, nua.ErrNotFound)
	}
	return ts[i].t, nil
}

func (s *Service) tmpDir() (string, error) {
	dir := filepath.Join(s.cfg.KeyDir, "tmp")
	return dir, os.MkdirAll(dir, 0o700)
}

// newID names a backup made now, unlike the app's others.
func newID(now time.Time, taken []nua.Backup) string {
	base := now.UTC().Format("20060102T150405Z")
	id := base
	for n := 2; slices.ContainsFunc(taken, func(b nua.Backup) bool { return b.ID == id }); n++ {
		id = fmt.Sprintf("%s-%d", base, n)
	}
	return id
}

// Key is where a backup's archive is kept in every target.
func Key(app, id string) string { return app + "/" + id + ".nua" }

// Capture backs the app up to every target at once. The backup is
// recorded either way; it fails, with an error, when the archive could
// not be made whole or any target did not keep it.
func (s *Service) Capture(ctx context.Context, name, by string) (nua.Backup, error) {
	app, err := s.p.App(name)
	if err != nil {
		return nua.Backup{}, err
	}
	bs, err := s.p.BackupStore()
	if err != nil {
		return nua.Backup{}, err
	}
	done, err := s.claim(name)
	if err != nil {
		return nua.Backup{}, err
	}
	defer done()
	old, err := bs.Backups(name)
	if err != nil {
		return nua.Backup{}, err
	}
	b := nua.Backup{ID: newID(time.Now(), old), App: name, Created: time.Now().UTC(), By: by}
	targets, err := s.targets()
	if err != nil {
		return s.fail(b, err)
	}
	errs := s.send(ctx, &b, targets, func(w io.Writer) (int64, error) { return s.write(ctx, app, b, w) })
	if len(errs) > 0 {
		return s.fail(b, errors.New(strings.Join(errs, "; ")))
	}
	b.Status = nua.BackupOK
	if err := s.p.RecordBackup(b); err != nil {
		return b, err
	}
	return b, nil
}

// send streams what write writes to every target at once as b's
// archive, filling in b's size, sum and copies; it returns what failed.
func (s *Service) send(ctx context.Context, b *nua.Backup, targets []namedTarget, write func(io.Writer) (int64, error)) []string {
	key := Key(b.App, b.ID)
	fan := newFanout(ctx, key, targets)
	sum := sha256.New()
	size, err := write(io.MultiWriter(fan, sum))
	results := fan.close(err)
	b.Size, b.SHA256 = size, hex.EncodeToString(sum.Sum(nil))
	var errs []string
	if err != nil {
		errs = append(errs, err.Error())
	}
	for _, r := range results {
		c := nua.BackupCopy{Target: r.name, Key: key, OK: r.err == nil && err == nil}
		if r.err != nil && err == nil {
			c.Error = r.err.Error()
			errs = append(errs, r.name+": "+c.Error)
		}
		b.Copies = append(b.Copies, c)
	}
	return errs
}

// fail records b as failed with err and returns err.
func (s *Service) fail(b nua.Backup, err error) (nua.Backup, error) {
	b.Status, b.Error = nua.BackupFailed, err.Error()
	if rerr := s.p.RecordBackup(b); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return b, fmt.Errorf("backup %s of %s failed: %w", b.ID, b.App, err)
}

// write streams the app's archive to w and returns its size.
func (s *Service) write(ctx context.Context, app nua.App, b nua.Backup, w io.Writer) (int64, error) {
	id, err := s.identity()
	if err != nil {
		return 0, err
	}
	rs, err := s.recipients(id)
	if err != nil {
		return 0, err
	}
	meta := Meta{App: app}
	if rel, err := s.p.CurrentRelease(app); err == nil {
		meta.Release = &rel
	}
	own, err := s.p.OwnAddons(app.Name)
	if err != nil {
		return 0, err
	}
	var dumper nua.AddonDumper
	if len(own) > 0 {
		if dumper, err = s.p.AddonDumper(); err != nil {
			return 0, err
		}
	}
	for _, a := range own {
		at, _ := a.AttachedTo(app.Name)
		meta.Addons = append(meta.Addons, AddonMeta{Name: a.Name, Kind: a.Kind, Entry: AddonsDir + a.Name + ".dump", As: at.As})
	}
	mb, err := json.Marshal(meta)
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	aw, err := NewWriter(cw, Header{App: app.Name, ID: b.ID, Created: b.Created, Meta: mb}, rs...)
	if err != nil {
		return 0, err
	}
	if err := aw.AddDir(DataDir, s.p.AppDataDir(app.Name)); err != nil {
		return 0, fmt.Errorf("data dir: %w", err)
	}
	tmp, err := s.tmpDir()
	if err != nil {
		return 0, err
	}
	if err := s.addBundle(ctx, aw, app.Name, tmp); err != nil {
		return 0, err
	}
	for _, a := range own {
		if err := addDump(ctx, aw, dumper, a, tmp); err != nil {
			return 0, err
		}
	}
	if err := aw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

// addBundle adds a git bundle of the app's repository, when it has
// commits.
func (s *Service) addBundle(ctx context.Context, aw *Writer, app, tmp string) error {
	repo := s.p.RepoDir(app)
	refs, err := exec.CommandContext(ctx, "git", "-C", repo, "for-each-ref", "--count=1").Output()
	if err != nil || len(strings.TrimSpace(string(refs))) == 0 {
		return nil // nothing pushed yet
	}
	f, err := os.CreateTemp(tmp, ".bundle-*")
	if err != nil {
		return err
	}
	f.Close()
	defer os.Remove(f.Name())
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "bundle", "create", "-q", f.Name(), "--all").CombinedOutput()
	if err != nil {
		return fmt.Errorf("git bundle: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return aw.AddFile(BundleName, f.Name())
}

// addDump dumps the addon through a temp file in tmp.
func addDump(ctx context.Context, aw *Writer, d nua.AddonDumper, a nua.Addon, tmp string) error {
	f, err := os.CreateTemp(tmp, ".dump-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := d.Dump(ctx, a, f); err != nil {
		return fmt.Errorf("dump addon %s: %w", a.Name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return aw.Add(AddonsDir+a.Name+".dump", fi.Size(), f)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
