package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/nua-paas/nua"
)

// RestoreTo brings the app's backup id back as a new app, to: created
// owned by by, with new addons of the same kinds loaded from the dumps,
// the data dir and config, and the backed-up commit rebuilt from the
// archive's repository and deployed. On any error the new app is
// destroyed again.
func (s *Service) RestoreTo(ctx context.Context, name, id, to, by string, out io.Writer) error {
	return s.restoreTo(ctx, name, id, to, by, by, out)
}

// restoreTo is RestoreTo with the new app owned by owner ("": admins
// only).
func (s *Service) restoreTo(ctx context.Context, name, id, to, owner, by string, out io.Writer) (err error) {
	b, err := s.Backup(name, id)
	if err != nil {
		return err
	}
	if err := nua.ValidateAppName(to); err != nil {
		return err
	}
	if _, err := s.p.App(to); err == nil {
		return fmt.Errorf("%w: app %s exists: restore into a new app, or in place with backups:restore %s ID", nua.ErrInvalid, to, to)
	} else if !errors.Is(err, nua.ErrNotFound) {
		return err
	}
	done, err := s.claim(to)
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintf(out, "-----> Reading backup %s of %s and checking it whole\n", id, name)
	st, err := s.stage(ctx, b, to)
	if err != nil {
		os.Remove(filepath.Dir(s.p.AppDataDir(to))) // the app dir stage made, if empty
		return err
	}
	defer st.remove()
	var dumper nua.AddonDumper
	if len(st.meta.Addons) > 0 {
		if dumper, err = s.p.AddonDumper(); err != nil {
			return err
		}
	}
	if _, err := s.p.CreateApp(to, owner); err != nil {
		return err
	}
	fmt.Fprintf(out, "-----> Created %s\n", to)
	defer func() {
		if err != nil {
			fmt.Fprintf(out, "-----> The restore failed: destroying %s again\n", to)
			s.p.DestroyApp(context.WithoutCancel(ctx), to, io.Discard)
			os.RemoveAll(s.p.AppDataDir(to))
		}
	}()
	return s.fill(ctx, st, dumper, to, by, out)
}

// fill loads what st holds into the new app to.
func (s *Service) fill(ctx context.Context, st staged, dumper nua.AddonDumper, to, by string, out io.Writer) error {
	config := maps.Clone(st.meta.App.Config)
	for _, m := range st.meta.Addons {
		a, err := s.p.CreateAddon(ctx, nua.AddonRequest{App: to, Kind: m.Kind, As: m.As, By: by}, out)
		if err != nil {
			return fmt.Errorf("new %s addon: %w", m.Kind, err)
		}
		fmt.Fprintf(out, "-----> Loading %s's dump into %s\n", m.Name, a.Name)
		if err := loadDump(ctx, dumper, a, st.dump(m)); err != nil {
			return err
		}
		if m.As != "" {
			delete(config, m.As+"_URL")
		}
	}
	if err := swapDir(s.p.AppDataDir(to), st.data()); err != nil {
		return err
	}
	if len(config) > 0 {
		if err := s.p.SetConfig(ctx, to, config, nil, by, out); err != nil {
			return err
		}
	}
	rel := st.meta.Release
	if rel == nil || rel.Commit == "" {
		return nil // never deployed
	}
	if _, err := os.Stat(st.bundle()); err != nil {
		return fmt.Errorf("%w: the backup holds no repository to rebuild %s from", ErrCorrupt, rel.Commit)
	}
	repo := s.p.RepoDir(to)
	if b, err := exec.CommandContext(ctx, "git", "-C", repo, "fetch", "-q", "--no-tags", st.bundle(), "+refs/heads/*:refs/heads/*").CombinedOutput(); err != nil {
		return fmt.Errorf("git fetch the bundle: %v: %s", err, strings.TrimSpace(string(b)))
	}
	branch := st.meta.App.Branch
	if branch == "" {
		branch = "main"
	}
	return s.p.DeployCommit(ctx, to, branch, rel.Commit, by, out)
}
