package receiver_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/receiver"
)

func TestParseUpdates(t *testing.T) {
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	tests := []struct {
		name  string
		input string
		n     int
		ok    bool
	}{
		{"one", a + " " + b + " refs/heads/main\n", 1, true},
		{"two", a + " " + b + " refs/heads/main\n" + b + " " + a + " refs/tags/v1\n", 2, true},
		{"empty", "", 0, true},
		{"short id", "abc " + b + " refs/heads/main\n", 0, false},
		{"not a ref", a + " " + b + " main\n", 0, false},
		{"dotdot ref", a + " " + b + " refs/heads/../../x\n", 0, false},
		{"extra field", a + " " + b + " refs/heads/main x\n", 0, false},
		{"shell", a + " " + b + " refs/heads/$(rm)\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ups, err := receiver.ParseUpdates(strings.NewReader(tt.input))
			if (err == nil) != tt.ok || len(ups) != tt.n {
				t.Fatalf("ParseUpdates=%v, %v; want %d updates, ok=%t", ups, err, tt.n, tt.ok)
			}
		})
	}
}

func FuzzParseUpdates(f *testing.F) {
	f.Add(strings.Repeat("a", 40) + " " + strings.Repeat("0", 40) + " refs/heads/main\n")
	f.Add("x y z\n")
	f.Fuzz(func(t *testing.T, input string) {
		ups, err := receiver.ParseUpdates(strings.NewReader(input))
		if err != nil {
			return
		}
		for _, u := range ups {
			if len(u.Old) != 40 || len(u.New) != 40 || !strings.HasPrefix(u.Ref, "refs/") || strings.Contains(u.Ref, "..") {
				t.Fatalf("accepted %+v", u)
			}
		}
	})
}

// gitRepo makes a receiver with app "app" whose repository holds one commit
// of files (symlinks as "->target"), and returns the receiver and the commit.
func gitRepo(t *testing.T, files map[string]string) (*receiver.Receiver, string) {
	t.Helper()
	dir := t.TempDir()
	r := receiver.New(receiver.Config{ReposDir: filepath.Join(dir, "repos"), Hook: []string{"/bin/true"}})
	if err := r.Init("app", "main"); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	os.MkdirAll(work, 0o755)
	git("init", "-q", "-b", "main")
	for name, content := range files {
		p := filepath.Join(work, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "-A")
	git("commit", "-q", "-m", "c")
	git("push", "-q", r.Repo("app"), "main")
	return r, git("rev-parse", "HEAD")
}

func TestExport(t *testing.T) {
	r, commit := gitRepo(t, map[string]string{"main.go": "package main\n", "sub/a.txt": "a", "link": "->sub/a.txt"})
	dst := t.TempDir()
	if err := r.Export(t.Context(), "app", commit, receiver.Quarantine{}, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "link"))
	if err != nil || string(got) != "a" {
		t.Fatalf("link reads %q, %v; want a", got, err)
	}
}

func TestExportRefuses(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"absolute symlink", map[string]string{"passwd": "->/etc/passwd"}, "outside the app"},
		{"escaping symlink", map[string]string{"up": "->../../x"}, "outside the app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, commit := gitRepo(t, tt.files)
			err := r.Export(t.Context(), "app", commit, receiver.Quarantine{}, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Export err=%v, want %q", err, tt.want)
			}
		})
	}
	t.Run("quarantine outside the repository", func(t *testing.T) {
		r, commit := gitRepo(t, map[string]string{"a": "a"})
		err := r.Export(t.Context(), "app", commit, receiver.Quarantine{ObjectDir: "/tmp"}, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "outside") {
			t.Fatalf("Export err=%v, want refusal", err)
		}
	})
	t.Run("not a commit id", func(t *testing.T) {
		r, _ := gitRepo(t, map[string]string{"a": "a"})
		if err := r.Export(t.Context(), "app", "--output=/tmp/x", receiver.Quarantine{}, t.TempDir()); err == nil {
			t.Fatal("Export accepted an option as a commit")
		}
	})
}
