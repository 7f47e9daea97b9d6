package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/nua-paas/nua"
)

// ServerApp is the name server backups are kept under: nua's own, which
// no app may take.
const ServerApp = nua.ReservedApp

// Entries of a server backup.
const (
	StateDB   = "state/nua.db"
	StateKeys = "state/backup/" // key.txt, recipients.txt
	AppsDir   = "apps/"         // APP.nua: each app's archive as kept
)

// ServerMeta is the header meta of a server backup.
type ServerMeta struct {
	// Apps maps each app to the backup of it the archive holds.
	Apps map[string]string `json:"apps"`
}

// CaptureServer backs up the whole server: every app anew, then one
// archive of the state (nua.db, as of one transaction), the backup keys
// and each app's archive, sent to every target. It fails when any app's
// archive is not kept whole locally or any target fails.
func (s *Service) CaptureServer(ctx context.Context, by string, out io.Writer) (nua.Backup, error) {
	bs, err := s.p.BackupStore()
	if err != nil {
		return nua.Backup{}, err
	}
	done, err := s.claim(ServerApp)
	if err != nil {
		return nua.Backup{}, err
	}
	defer done()
	apps, err := s.p.Apps()
	if err != nil {
		return nua.Backup{}, err
	}
	meta := ServerMeta{Apps: map[string]string{}}
	for _, a := range apps {
		s.mu.Lock()
		scratch := s.scratch[a.Name]
		s.mu.Unlock()
		if scratch {
			continue // a drill's, gone soon
		}
		fmt.Fprintf(out, "-----> Backing up %s\n", a.Name)
		b, err := s.captureWaiting(ctx, a.Name, by)
		if err != nil && !hasLocal(b) {
			return nua.Backup{}, fmt.Errorf("server backup: %w", err)
		}
		if err != nil {
			fmt.Fprintf(out, "       %v (the local copy goes in the server backup)\n", err)
		}
		meta.Apps[a.Name] = b.ID
	}
	old, err := bs.Backups(ServerApp)
	if err != nil {
		return nua.Backup{}, err
	}
	b := nua.Backup{ID: newID(time.Now(), old), App: ServerApp, Created: time.Now().UTC(), By: by}
	targets, err := s.targets()
	if err != nil {
		return b, err
	}
	fmt.Fprintf(out, "-----> Writing the server backup %s\n", b.ID)
	errs := s.send(ctx, &b, targets, func(w io.Writer) (int64, error) { return s.writeServer(b, meta, w) })
	b.Status = nua.BackupOK
	if len(errs) > 0 {
		b.Status, b.Error = nua.BackupFailed, strings.Join(errs, "; ")
		s.p.Notify(nua.Notice{Event: nua.EventBackup, Text: "server backup " + b.ID + " FAILED: " + b.Error})
	}
	if perr := bs.PutBackup(b); perr != nil {
		return b, perr
	}
	if b.Status != nua.BackupOK {
		return b, fmt.Errorf("server backup %s failed: %s", b.ID, b.Error)
	}
	return b, nil
}

// busyWait bounds how long a server backup waits for an app's own
// capture or restore under way (a scheduled one, say) to end.
const busyWait = 10 * time.Minute

// captureWaiting is Capture, after any capture or restore of the app
// already under way has ended.
func (s *Service) captureWaiting(ctx context.Context, app, by string) (nua.Backup, error) {
	deadline := time.Now().Add(busyWait)
	for {
		b, err := s.Capture(ctx, app, by)
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			return b, err
		}
		select {
		case <-ctx.Done():
			return b, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func hasLocal(b nua.Backup) bool {
	for _, c := range b.Copies {
		if c.Target == nua.LocalTarget && c.OK {
			return true
		}
	}
	return false
}

func (s *Service) writeServer(b nua.Backup, meta ServerMeta, w io.Writer) (int64, error) {
	id, err := s.identity()
	if err != nil {
		return 0, err
	}
	rs, err := s.recipients(id)
	if err != nil {
		return 0, err
	}
	mb, err := json.Marshal(meta)
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	aw, err := NewWriter(cw, Header{App: ServerApp, ID: b.ID, Created: b.Created, Meta: mb}, rs...)
	if err != nil {
		return 0, err
	}
	tmp, err := s.tmpDir()
	if err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.p.SnapshotState(pw)) }()
	err = aw.AddStream(StateDB, tmp, pr)
	pr.CloseWithError(errors.New("stopped"))
	if err != nil {
		return 0, fmt.Errorf("state: %w", err)
	}
	for _, name := range []string{"key.txt", "recipients.txt"} {
		err := aw.AddFile(StateKeys+name, filepath.Join(s.cfg.KeyDir, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	for app, appID := range meta.Apps {
		if err := aw.AddFile(AppsDir+app+".nua", filepath.Join(s.cfg.Dir, filepath.FromSlash(Key(app, appID)))); err != nil {
			return 0, fmt.Errorf("the archive of %s: %w", app, err)
		}
	}
	if err := aw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

// Pending is an app a server restore left for the daemon to rebuild
// from its backup.
type Pending struct {
	App   string `json:"app"`
	ID    string `json:"id"`
	Owner string `json:"owner,omitempty"`
}

// pendingFile lists what is pending, under the key dir.
const pendingFile = "pending-restores.json"

// UnpackServer reads the server archive r with the identity in keyFile
// (a copy of the old server's DATA/backup/key.txt) into data, a fresh
// data dir: nua.db, the backup keys, and each app's archive in the local
// target. It returns the apps and the backup of each. It checks the whole
// archive before it keeps anything.
func UnpackServer(r io.Reader, keyFile, data string) (map[string]string, error) {
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(kb)))
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", keyFile, err)
	}
	if _, err := os.Stat(filepath.Join(data, "nua.db")); err == nil {
		return nil, fmt.Errorf("%s holds a nua.db: restore the server into a fresh data dir", data)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(data, ".server-restore-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	ar, err := NewReader(r, ids...)
	if err != nil {
		return nil, err
	}
	if ar.Header.App != ServerApp {
		return nil, fmt.Errorf("%w: this is a backup of app %s, not of a server: restore it with backups:restore", ErrCorrupt, ar.Header.App)
	}
	var meta ServerMeta
	if err := json.Unmarshal(ar.Header.Meta, &meta); err != nil {
		return nil, fmt.Errorf("%w: meta: %v", ErrCorrupt, err)
	}
	for {
		name, er, err := ar.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := extract(stage, name, er); err != nil {
			return nil, err
		}
	}
	moves := [][2]string{{StateDB, "nua.db"}, {StateKeys + "key.txt", "backup/key.txt"}, {StateKeys + "recipients.txt", "backup/recipients.txt"}}
	for app, id := range meta.Apps {
		if err := nua.ValidateAppName(app); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if err := nua.ValidateBackupID(id); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		moves = append(moves, [2]string{AppsDir + app + ".nua", filepath.Join("backups", filepath.FromSlash(Key(app, id)))})
	}
	for _, m := range moves {
		src, dst := filepath.Join(stage, filepath.FromSlash(m[0])), filepath.Join(data, m[1])
		if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) && m[0] == StateKeys+"recipients.txt" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, err
		}
		if err := os.Rename(src, dst); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	return meta.Apps, nil
}

// WritePending records the apps the daemon rebuilds from their backups
// at its next start.
func WritePending(data string, ps []Pending) error {
	b, err := json.MarshalIndent(ps, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(data, "backup", pendingFile), b)
}

// Resume rebuilds the apps a server restore left pending, one by one,
// each as backups:restore --to would, owned as before; what is done is
// struck off the list, what fails is logged, told and kept for the next
// start.
func (s *Service) Resume(ctx context.Context) {
	path := filepath.Join(s.cfg.KeyDir, pendingFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var ps []Pending
	if err == nil {
		err = json.Unmarshal(b, &ps)
	}
	if err != nil {
		s.log.Error("pending restores", "err", err)
		return
	}
	var left []Pending
	for _, p := range ps {
		s.log.Info("restoring app from the server backup", "app", p.App, "backup", p.ID)
		var out strings.Builder
		if err := s.restoreTo(ctx, p.App, p.ID, p.App, p.Owner, "server:restore", &out); err != nil {
			s.log.Error("restore app", "app", p.App, "backup", p.ID, "err", err, "output", out.String())
			s.p.Notify(nua.Notice{Event: nua.EventBackup, App: p.App, Text: fmt.Sprintf("%s: the restore of backup %s after a server restore FAILED: %v", p.App, p.ID, err)})
			left = append(left, p)
			continue
		}
		s.log.Info("app restored", "app", p.App)
	}
	if len(left) == 0 {
		os.Remove(path)
		return
	}
	if err := WritePending(filepath.Dir(s.cfg.KeyDir), left); err != nil {
		s.log.Error("pending restores", "err", err)
	}
}
