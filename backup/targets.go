package backup

import (
	"context"
	"fmt"
	"time"

	"github.com/nua-paas/nua"
)

// Targets lists the S3 targets, their secret keys blanked.
func (s *Service) Targets() ([]nua.BackupTarget, error) {
	bs, err := s.p.BackupStore()
	if err != nil {
		return nil, err
	}
	ts, err := bs.BackupTargets()
	for i := range ts {
		ts[i].SecretKey = ""
	}
	return ts, err
}

// LocalDir is the local target's directory.
func (s *Service) LocalDir() string { return s.cfg.Dir }

// AddTarget adds an S3 target that every later capture writes to too.
// Unless check is false, its bucket must answer with the keys given.
func (s *Service) AddTarget(ctx context.Context, t nua.BackupTarget, check bool) error {
	if err := nua.ValidateTargetName(t.Name); err != nil {
		return err
	}
	tg, err := NewS3(S3Config{URL: t.URL, Endpoint: t.Endpoint, AccessKey: t.AccessKey, SecretKey: t.SecretKey, Region: t.Region})
	if err != nil {
		return fmt.Errorf("%w: %v", nua.ErrInvalid, err)
	}
	if check {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := tg.Check(ctx); err != nil {
			return fmt.Errorf("%w: %v (add it with --no-check to keep it anyway)", nua.ErrInvalid, err)
		}
	}
	bs, err := s.p.BackupStore()
	if err != nil {
		return err
	}
	t.Added = time.Now().UTC()
	return bs.AddBackupTarget(t)
}

// RemoveTarget removes an S3 target; what it holds stays there.
func (s *Service) RemoveTarget(name string) error {
	if err := nua.ValidateTargetName(name); err != nil {
		return err
	}
	bs, err := s.p.BackupStore()
	if err != nil {
		return err
	}
	return bs.RemoveBackupTarget(name)
}
