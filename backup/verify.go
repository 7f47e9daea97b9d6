package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"
)

// Verify drills a restore of the app's backup id: into a scratch app with
// scratch addons, its commit built and booted until its health checks
// pass, then removed. The result is recorded on the backup; a failure is
// told and logged, and returned.
func (s *Service) Verify(ctx context.Context, app, id, by string, out io.Writer) error {
	b, err := s.Backup(app, id)
	if err != nil {
		return err
	}
	if out == nil {
		out = io.Discard
	}
	scratch, err := drillName(app)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.scratch[scratch] = true
	s.mu.Unlock()
	defer func() { s.mu.Lock(); delete(s.scratch, scratch); s.mu.Unlock() }()
	fmt.Fprintf(out, "-----> Restoring backup %s of %s into the scratch app %s\n", id, app, scratch)
	derr := s.restoreTo(ctx, app, id, scratch, "", by, out)
	if derr == nil {
		fmt.Fprintf(out, "-----> %s booted and passed its checks: removing it\n", scratch)
		if err := s.p.DestroyApp(context.WithoutCancel(ctx), scratch, io.Discard); err != nil {
			s.log.Warn("remove drill app", "app", scratch, "err", err)
		}
		os.RemoveAll(s.p.AppDataDir(scratch))
	}
	b, err = s.Backup(app, id) // as it is now
	if err != nil {
		return err
	}
	b.Verified, b.VerifyError = time.Now().UTC(), ""
	if derr != nil {
		b.VerifyError = derr.Error()
	}
	if err := s.p.RecordDrill(b); err != nil {
		return err
	}
	if derr != nil {
		return fmt.Errorf("restore drill of backup %s of %s failed: %w", id, app, derr)
	}
	return nil
}

// drillName is a new scratch app's name for a drill of app.
func drillName(app string) (string, error) {
	r := make([]byte, 3)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	if len(app) > 48 {
		app = app[:48]
	}
	name := "drill-" + hex.EncodeToString(r) + "-" + app
	for name[len(name)-1] == '-' {
		name = name[:len(name)-1]
	}
	return name, nil
}
