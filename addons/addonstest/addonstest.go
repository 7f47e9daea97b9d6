// Package addonstest is the suite every addon driver passes against its
// real server, and the helpers its tests share.
package addonstest

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/addons"
	"github.com/nua-paas/nua/addons/supervisor"
)

// NewHost returns a Host in a fresh temp dir, with a supervisor closed at
// the end of the test. As root the servers run as the nua-addons user,
// so the temp dir is opened for it to pass (as nua's data dir is).
func NewHost(tb testing.TB) addons.Host {
	tb.Helper()
	dir := tb.TempDir()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				tb.Fatal(err)
			}
		}
	}
	u, _, err := addons.ServiceUser()
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{tb}, nil))
	sup := supervisor.New(supervisor.Config{StopTimeout: 10 * time.Second, Logger: log})
	tb.Cleanup(func() { sup.Close(context.Background()) })
	return addons.Host{Dir: filepath.Join(dir, "services"), User: u, Supervisor: sup}
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Client runs the kind's client of a, as an app would, with args; it
// returns its output and whether it succeeded.
func Client(tb testing.TB, d addons.Driver, a nua.Addon, args ...string) (string, bool) {
	tb.Helper()
	argv, env, err := d.Client(a)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + tb.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return strings.TrimSpace(out.String()), err == nil
}

// Kind tells the suite how to write and read a value with the kind's
// client, and whether an addon left anything behind.
type Kind struct {
	Write, Read []string // client arguments
	Want        string   // what Read prints after Write
	// Left reports whether anything of the addon remains on the server.
	Left func(ctx context.Context, name string) (bool, error)
}

// Suite creates two addons, writes through the first's URL and reads it
// back, checks the second's credentials cannot reach the first's data,
// restarts the server and reads again, and destroys both, leaving nothing.
func Suite(t *testing.T, d addons.Driver, k Kind) {
	ctx := t.Context()
	var made []nua.Addon
	for _, name := range []string{"suite-one", "suite-two"} {
		url, err := d.Provision(ctx, name)
		if err != nil {
			t.Fatalf("Provision(%s): %v", name, err)
		}
		made = append(made, nua.Addon{Name: name, Kind: d.Kind(), URL: url})
	}
	a, b := made[0], made[1]
	if out, ok := Client(t, d, a, k.Write...); !ok {
		t.Fatalf("write through %s: %s", a.Name, out)
	}
	if out, _ := Client(t, d, a, k.Read...); !strings.Contains(out, k.Want) {
		t.Fatalf("read through %s = %q, want %q", a.Name, out, k.Want)
	}
	intruder := a
	intruder.URL = withUser(t, a.URL, b.URL)
	if out, ok := Client(t, d, intruder, k.Read...); ok && strings.Contains(out, k.Want) {
		t.Fatalf("%s's credentials read %s's data: %s", b.Name, a.Name, out)
	}
	if info, err := d.Info(ctx, a); err != nil || len(info) == 0 {
		t.Fatalf("Info = %v, %v", info, err)
	}
	if dd, ok := d.(addons.Dumper); ok {
		dumpRestore(t, d, dd, k, a, b)
	}
	for _, x := range made {
		if err := d.Deprovision(ctx, x.Name); err != nil {
			t.Fatalf("Deprovision(%s): %v", x.Name, err)
		}
		if err := d.Deprovision(ctx, x.Name); err != nil {
			t.Fatalf("second Deprovision(%s): %v", x.Name, err)
		}
		if left, err := k.Left(ctx, x.Name); err != nil || left {
			t.Fatalf("after Deprovision(%s): left=%t err=%v", x.Name, left, err)
		}
	}
	if out, ok := Client(t, d, a, k.Read...); ok && strings.Contains(out, k.Want) {
		t.Fatalf("read after destroy = %q", out)
	}
}

// withUser is target's URL with the user and password of other's.
func withUser(t *testing.T, target, other string) string {
	tu, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ou, err := url.Parse(other)
	if err != nil {
		t.Fatal(err)
	}
	tu.User = ou.User
	return tu.String()
}

// dumpRestore dumps a and restores it into b, a fresh addon, which then
// reads a's data; a dump that is not one is refused and leaves b as it
// was.
func dumpRestore(t *testing.T, d addons.Driver, dd addons.Dumper, k Kind, a, b nua.Addon) {
	t.Helper()
	ctx := t.Context()
	var dump bytes.Buffer
	if err := dd.Dump(ctx, a, &dump); err != nil {
		t.Fatalf("Dump(%s): %v", a.Name, err)
	}
	if dump.Len() == 0 {
		t.Fatalf("Dump(%s) wrote nothing", a.Name)
	}
	if err := dd.Restore(ctx, b, bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatalf("Restore into %s: %v", b.Name, err)
	}
	if out, _ := Client(t, d, b, k.Read...); !strings.Contains(out, k.Want) {
		t.Fatalf("read through %s after the restore = %q, want %q", b.Name, out, k.Want)
	}
	if err := dd.Restore(ctx, b, strings.NewReader("not a dump at all\n")); err == nil {
		t.Fatalf("Restore of garbage into %s succeeded", b.Name)
	}
	if out, _ := Client(t, d, b, k.Read...); !strings.Contains(out, k.Want) {
		t.Fatalf("read through %s after a refused restore = %q, want %q", b.Name, out, k.Want)
	}
}
