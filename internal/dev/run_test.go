package dev_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/dev"
	"github.com/nua-paas/nua/internal/testutil"
)

// app writes a Procfile (and files) into a fresh directory.
func app(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// start runs dev.Run in the background; the returned channel yields its
// error.
func start(t *testing.T, cfg dev.Config) (context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, finished := make(chan error, 1), make(chan struct{})
	go func() {
		done <- dev.Run(ctx, cfg)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return cancel, done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func TestRunOutput(t *testing.T) {
	t.Parallel()
	procfile := "short: echo PORT=$PORT PS=$PS X=$X; exec sleep 100\nlonger-name: echo hi; exec sleep 100\n"
	tests := []struct {
		name  string
		color bool
		line  *regexp.Regexp
	}{
		{name: "plain", line: regexp.MustCompile(`^\d\d:\d\d:\d\d (short\.1|longer-name\.1|system) *\| `)},
		{name: "colour", color: true, line: regexp.MustCompile(`^\x1b\[(36|33|1)m\d\d:\d\d:\d\d (short\.1|longer-name\.1|system) *\|\x1b\[0m `)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out testutil.Buffer
			cfg := dev.Config{Dir: app(t, map[string]string{"Procfile": procfile, ".env": "X='from env'\n"}),
				Port: 7100, Environ: []string{"PATH=" + os.Getenv("PATH")}, Out: &out, Color: tt.color}
			cancel, done := start(t, cfg)
			testutil.Eventually(t, 10*time.Second, "both processes' output", func() (bool, string) {
				s := ansi.ReplaceAllString(out.String(), "")
				return strings.Contains(s, "| PORT=7100 PS=short.1 X=from env") && strings.Contains(s, "| hi"), s
			})
			cancel()
			if err := wait(t, done); err != nil {
				t.Fatalf("Run after cancel: %v", err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			width := -1
			for _, l := range lines {
				if !tt.line.MatchString(l) {
					t.Fatalf("line %q does not match %s", l, tt.line)
				}
				if w := strings.Index(ansi.ReplaceAllString(l, ""), "|"); width < 0 {
					width = w
				} else if w != width {
					t.Fatalf("prefixes not aligned:\n%s", out.String())
				}
			}
			if !strings.Contains(ansi.ReplaceAllString(out.String(), ""), "longer-name.1 | hi") {
				t.Fatalf("longest name not padded to itself:\n%s", out.String())
			}
		})
	}
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func TestRunKill(t *testing.T) {
	t.Parallel()
	var out testutil.Buffer
	kill := make(chan struct{})
	cfg := dev.Config{
		Dir:  app(t, map[string]string{"Procfile": "stubborn: trap '' TERM; echo pid $$; while :; do sleep 1; done\n"}),
		Port: 7200, Environ: []string{"PATH=" + os.Getenv("PATH")}, Out: &out,
		StopTimeout: time.Hour, Kill: kill,
	}
	cancel, done := start(t, cfg)
	var pgid int
	testutil.Eventually(t, 10*time.Second, "the pid", func() (bool, string) {
		m := regexp.MustCompile(`\| pid (\d+)`).FindStringSubmatch(out.String())
		if m != nil {
			pgid, _ = strconv.Atoi(m[1])
		}
		return m != nil, out.String()
	})
	cancel()
	testutil.Eventually(t, 10*time.Second, "SIGTERM sent", func() (bool, string) {
		return strings.Contains(out.String(), "stubborn.1: Stopping process with SIGTERM"), out.String()
	})
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before its hour of grace or a kill", err)
	default:
	}
	close(kill)
	if err := wait(t, done); err != nil {
		t.Fatalf("Run after kill: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "the process group gone", func() (bool, string) {
		return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH), out.String()
	})
}
