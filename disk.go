package nua

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nua-paas/nua/internal/diskuse"
)

// DefaultMinFree is the room a build needs unless Config.MinFree says:
// nua refuses one when less is free on the data dir's file system, rather
// than let a full disk break the apps that run.
const DefaultMinFree = 1 << 30

// AppDisk is what one app takes on disk, in bytes.
type AppDisk struct {
	App                            string
	Slugs, Cache, Logs, Repo, Data int64
}

// Total is all the app takes.
func (a AppDisk) Total() int64 { return a.Slugs + a.Cache + a.Logs + a.Repo + a.Data }

// DiskReport is what `system:df` shows.
type DiskReport struct {
	Apps        []AppDisk
	Shared      map[string]int64 // shared caches by name ("runtimes", "go-build")
	Free, Total uint64           // of the data dir's file system
}

func (p *Platform) appDir(app string) string { return filepath.Join(p.cfg.DataDir, "apps", app) }
func (p *Platform) repoDir(app string) string {
	return filepath.Join(p.cfg.DataDir, "repos", app+".git")
}

// Disk measures what each app and each shared cache takes, and what is
// free.
func (p *Platform) Disk() (DiskReport, error) {
	apps, err := p.cfg.Store.Apps()
	if err != nil {
		return DiskReport{}, err
	}
	var r DiskReport
	for _, a := range apps {
		r.Apps = append(r.Apps, AppDisk{
			App:   a.Name,
			Slugs: diskuse.Size(filepath.Join(p.appDir(a.Name), "releases")),
			Data:  diskuse.Size(filepath.Join(p.appDir(a.Name), "data")),
			Cache: diskuse.Size(p.cacheDir(a.Name)), Logs: diskuse.Size(p.logDir(a.Name)), Repo: diskuse.Size(p.repoDir(a.Name)),
		})
	}
	r.Shared = map[string]int64{"runtimes": diskuse.Size(filepath.Join(p.cfg.DataDir, "runtimes"))}
	shared, _ := filepath.Glob(filepath.Join(p.cfg.DataDir, "cache", "_*"))
	for _, d := range shared {
		r.Shared[strings.TrimPrefix(filepath.Base(d), "_")] = diskuse.Size(d)
	}
	r.Free, r.Total, err = diskuse.Free(p.cfg.DataDir)
	return r, err
}

// ErrDiskFull marks a build refused for want of disk space.
var ErrDiskFull = errors.New("disk nearly full")

func (p *Platform) minFree() uint64 {
	if p.cfg.MinFree <= 0 {
		return DefaultMinFree
	}
	return uint64(p.cfg.MinFree)
}

// checkDisk refuses a build when the data dir's disk is nearly full.
func (p *Platform) checkDisk() error {
	free, total, err := diskuse.Free(p.cfg.DataDir)
	if err != nil || total == 0 {
		return nil // unknown: let the build say what fails
	}
	if min := p.minFree(); free < min {
		return fmt.Errorf("%w: %d MiB free of %d MiB on %s: nua builds nothing with less than %d MiB free, so that the running apps keep room; `system:df` shows what takes it, `system:prune` frees what no app needs",
			ErrDiskFull, free>>20, total>>20, p.cfg.DataDir, min>>20)
	}
	return nil
}

// PruneOrphans removes what apps that no longer exist left in the data
// dir (their slugs, caches, logs and repositories) and returns what it
// removed and how many bytes that freed. Shared caches (names starting
// with "_") and every existing app's files stay.
func (p *Platform) PruneOrphans() ([]string, int64, error) {
	apps, err := p.cfg.Store.Apps()
	if err != nil {
		return nil, 0, err
	}
	live := map[string]bool{}
	for _, a := range apps {
		live[a.Name] = true
	}
	var removed []string
	var freed int64
	for _, parent := range []string{"apps", "cache", "logs", "repos"} {
		entries, err := os.ReadDir(filepath.Join(p.cfg.DataDir, parent))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, freed, err
		}
		for _, e := range entries {
			name := strings.TrimSuffix(e.Name(), ".git")
			if !e.IsDir() || live[name] || ValidateAppName(name) != nil {
				continue // not an app's: a shared cache, or nua's own
			}
			path := filepath.Join(p.cfg.DataDir, parent, e.Name())
			n, err := p.removeOrphan(name, path)
			if err != nil {
				return removed, freed, err
			}
			if n >= 0 {
				removed, freed = append(removed, filepath.Join(parent, e.Name())), freed+n
			}
		}
	}
	slices.Sort(removed)
	if len(removed) > 0 {
		p.log.Info("pruned what removed apps left", "dirs", len(removed), "bytes", freed)
	}
	return removed, freed, nil
}

// removeOrphan removes path, a dir of app, if the app does not exist, under
// the app's lock (an app being created makes its repository first); it
// returns the bytes freed, or -1 when the app exists.
func (p *Platform) removeOrphan(app, path string) (int64, error) {
	defer p.lockApp(app)()
	if _, err := p.cfg.Store.App(app); !errors.Is(err, ErrNotFound) {
		return -1, err
	}
	n := diskuse.Size(path)
	return n, os.RemoveAll(path)
}
