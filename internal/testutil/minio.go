package testutil

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is a MinIO server a test started.
type MinIO struct {
	Endpoint, User, Password string
	Client                   *minio.Client
}

// StartMinIO starts the MinIO server of $NUA_MINIO (make test builds it)
// on loopback with a temp dir; it stops with the test.
func StartMinIO(t testing.TB) MinIO {
	t.Helper()
	bin := os.Getenv("NUA_MINIO")
	if bin == "" {
		bin, _ = exec.LookPath("minio")
	}
	if bin == "" {
		msg := "no MinIO server: set NUA_MINIO, or run `make test`, which builds it (internal/tools/minio.sh)"
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	m := MinIO{User: "nua-test", Password: "nua-test-secret"}
	var cmd *exec.Cmd
	for range 5 { // MinIO cannot report a port of its own choosing: take one just freed
		port := FreePort(t)
		m.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
		cmd = exec.Command(bin, "server", "--quiet", "--address", fmt.Sprintf("127.0.0.1:%d", port),
			"--console-address", fmt.Sprintf("127.0.0.1:%d", FreePort(t)), t.TempDir())
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.User, "MINIO_ROOT_PASSWORD="+m.Password, "MINIO_BROWSER=off")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if minioReady(m.Endpoint+"/minio/health/ready", 30*time.Second) {
			break
		}
		cmd.Process.Kill()
		cmd.Wait()
		cmd = nil
	}
	if cmd == nil {
		t.Fatal("MinIO did not start")
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	host := strings.TrimPrefix(m.Endpoint, "http://")
	var err error
	if m.Client, err = minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(m.User, m.Password, "")}); err != nil {
		t.Fatal(err)
	}
	// Ready answers before the object layer is up: wait for a real call.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := m.Client.ListBuckets(context.Background())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MinIO did not start serving: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return m
}

// minioReady polls url until it answers 200 or within passes.
func minioReady(url string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		} else if _, ok := err.(net.Error); !ok && !strings.Contains(err.Error(), "refused") {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
