package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nua-paas/nua"
)

// Backups lists the app's backups, oldest first.
// Those of a destroyed app stay, to restore with --to.
func (s *Service) Backups(name string) ([]nua.Backup, error) {
	if err := nua.ValidateAppName(name); err != nil {
		return nil, err
	}
	bs, err := s.p.BackupStore()
	if err != nil {
		return nil, err
	}
	return bs.Backups(name)
}

// Backup returns the app's backup id.
func (s *Service) Backup(name, id string) (nua.Backup, error) {
	if err := nua.ValidateBackupID(id); err != nil {
		return nua.Backup{}, err
	}
	all, err := s.Backups(name)
	if err != nil {
		return nua.Backup{}, err
	}
	i := slices.IndexFunc(all, func(b nua.Backup) bool { return b.ID == id })
	if i < 0 {
		return nua.Backup{}, fmt.Errorf("backup %s of %s: %w (see `backups %s`)", id, name, nua.ErrNotFound, name)
	}
	return all[i], nil
}

// open opens the backup's archive as stored, from the first target that
// holds it whole, the local directory first.
func (s *Service) open(ctx context.Context, b nua.Backup) (io.ReadCloser, error) {
	copies := b.OKCopies()
	if len(copies) == 0 {
		return nil, fmt.Errorf("%w: backup %s of %s was not kept whole by any target: %s", nua.ErrInvalid, b.ID, b.App, b.Error)
	}
	var errs []error
	for _, c := range copies {
		t, err := s.target(c.Target)
		if err == nil {
			var rc io.ReadCloser
			if rc, err = t.Get(ctx, c.Key); err == nil {
				return rc, nil
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.Target, err))
	}
	return nil, fmt.Errorf("open backup %s: %w", b.ID, errors.Join(errs...))
}

// Download writes the backup's archive, encrypted as it is stored, to w.
func (s *Service) Download(ctx context.Context, name, id string, w io.Writer) error {
	b, err := s.Backup(name, id)
	if err != nil {
		return err
	}
	rc, err := s.open(ctx, b)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

// Delete removes the backup from every target, then its record.
func (s *Service) Delete(ctx context.Context, name, id string) error {
	b, err := s.Backup(name, id)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range b.Copies {
		t, err := s.target(c.Target)
		if errors.Is(err, nua.ErrNotFound) {
			continue // the target was removed
		}
		if err == nil {
			err = t.Delete(ctx, c.Key)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete from %s: %w", c.Target, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	bs, err := s.p.BackupStore()
	if err != nil {
		return err
	}
	return bs.DeleteBackup(name, id)
}

// staged is an archive read whole and checked into a staging dir.
type staged struct {
	dir    string
	header Header
	meta   Meta
}

func (st staged) data() string            { return filepath.Join(st.dir, "data") }
func (st staged) dump(a AddonMeta) string { return filepath.Join(st.dir, filepath.FromSlash(a.Entry)) }
func (st staged) remove()                 { os.RemoveAll(st.dir) }
func (st staged) bundle() string          { return filepath.Join(st.dir, BundleName) }

// stage reads the archive into a new dir beside the app's data dir,
// checking it whole against its manifest; on error nothing is left.
func (s *Service) stage(ctx context.Context, b nua.Backup, into string) (st staged, err error) {
	id, err := s.identity()
	if err != nil {
		return staged{}, err
	}
	rc, err := s.open(ctx, b)
	if err != nil {
		return staged{}, err
	}
	defer rc.Close()
	parent := filepath.Dir(s.p.AppDataDir(into))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return staged{}, err
	}
	dir, err := os.MkdirTemp(parent, ".restore-*")
	if err != nil {
		return staged{}, err
	}
	st.dir = dir
	defer func() {
		if err != nil {
			st.remove()
		}
	}()
	if err := os.Mkdir(st.data(), 0o700); err != nil {
		return st, err
	}
	ar, err := NewReader(rc, id)
	if err != nil {
		return st, fmt.Errorf("backup %s: %w", b.ID, err)
	}
	st.header = ar.Header
	if ar.Header.App != b.App || ar.Header.ID != b.ID {
		return st, fmt.Errorf("%w: the archive of backup %s holds %s's backup %s", ErrCorrupt, b.ID, ar.Header.App, ar.Header.ID)
	}
	if err := json.Unmarshal(ar.Header.Meta, &st.meta); err != nil {
		return st, fmt.Errorf("%w: meta: %v", ErrCorrupt, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		name, r, err := ar.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("backup %s: %w", b.ID, err)
		}
		if err := extract(st.dir, name, r); err != nil {
			return st, err
		}
	}
	for _, a := range st.meta.Addons {
		if _, err := os.Stat(st.dump(a)); err != nil || !strings.HasPrefix(a.Entry, AddonsDir) || checkName(a.Entry) != nil {
			return st, fmt.Errorf("%w: the dump of addon %s is missing", ErrCorrupt, a.Name)
		}
	}
	return st, nil
}

// extract writes entry name (checked by the reader) under dir.
func extract(dir, name string, r io.Reader) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Restore brings the app's backup id back in place: the archive is read
// and checked whole first, then the data dir is swapped, the addons'
// dumps loaded and the config set on a new release, the app restarted
// with no downtime.
func (s *Service) Restore(ctx context.Context, name, id, by string, out io.Writer) error {
	b, err := s.Backup(name, id)
	if err != nil {
		return err
	}
	done, err := s.claim(name)
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintf(out, "-----> Reading backup %s of %s and checking it whole\n", id, name)
	st, err := s.stage(ctx, b, name)
	if err != nil {
		return err
	}
	defer st.remove()
	own, err := s.p.OwnAddons(name)
	if err != nil {
		return err
	}
	targets := map[string]nua.Addon{}
	for _, m := range st.meta.Addons {
		i := slices.IndexFunc(own, func(a nua.Addon) bool { return a.Name == m.Name && a.Kind == m.Kind })
		if i < 0 {
			return fmt.Errorf("%w: the backup holds %s addon %s, which %s no longer has: restore it into a new app with --to", nua.ErrInvalid, m.Kind, m.Name, name)
		}
		targets[m.Name] = own[i]
	}
	var dumper nua.AddonDumper
	if len(st.meta.Addons) > 0 {
		if dumper, err = s.p.AddonDumper(); err != nil {
			return err
		}
	}
	apply := func(ctx context.Context, app nua.App) error {
		for _, m := range st.meta.Addons {
			fmt.Fprintf(out, "-----> Restoring addon %s\n", m.Name)
			if err := loadDump(ctx, dumper, targets[m.Name], st.dump(m)); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "-----> Restoring the data dir\n")
		return swapDir(s.p.AppDataDir(name), st.data())
	}
	return s.p.RestoreApp(ctx, name, nua.Restoring{Apply: apply, Config: st.meta.App.Config, Description: "Restore of backup " + id}, by, out)
}

func loadDump(ctx context.Context, d nua.AddonDumper, a nua.Addon, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := d.Restore(ctx, a, f); err != nil {
		return fmt.Errorf("restore addon %s: %w", a.Name, err)
	}
	return nil
}

// swapDir puts src in dst's place; the old dst goes once src is there.
func swapDir(dst, src string) error {
	old := dst + ".old"
	os.RemoveAll(old)
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		os.Rename(old, dst)
		return err
	}
	return os.RemoveAll(old)
}
