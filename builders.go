package nua

import (
	"errors"
	"fmt"
	"time"

	"github.com/nua-paas/nua/buildpacks"
)

// TrustedBuilder is a Cloud Native Buildpacks builder image an operator
// trusts: its lifecycle runs with the engine's socket, so a CNB build may
// use no other.
type TrustedBuilder struct {
	Image string    `json:"image"` // as the operator named it, e.g. paketobuildpacks/builder-jammy-base:0.4
	By    string    `json:"by,omitempty"`
	Added time.Time `json:"added"`
}

// BuilderStore keeps the trusted builders. A Store implements it when its
// server builds CNB apps; the store package does.
type BuilderStore interface {
	// TrustedBuilders returns the trusted builders, sorted by image.
	TrustedBuilders() ([]TrustedBuilder, error)
	// TrustBuilder adds one; it fails with ErrExists when it is there.
	TrustBuilder(TrustedBuilder) error
	// UntrustBuilder removes one or fails with ErrNotFound.
	UntrustBuilder(image string) error
}

// errNoBuilderStore is the error of the builder commands on a store that
// keeps no builder list.
var errNoBuilderStore = errors.New("this server's store keeps no list of trusted builders")

func (p *Platform) builderStore() (BuilderStore, error) {
	if bs, ok := p.cfg.Store.(BuilderStore); ok {
		return bs, nil
	}
	return nil, errNoBuilderStore
}

// TrustedBuilders lists the builder images CNB builds may use.
func (p *Platform) TrustedBuilders() ([]TrustedBuilder, error) {
	bs, err := p.builderStore()
	if err != nil {
		return nil, err
	}
	return bs.TrustedBuilders()
}

// TrustBuilder lets CNB builds use builder image, an image name as
// project.toml or the CNB_BUILDER config give it: an image an app's build
// made can never be one.
func (p *Platform) TrustBuilder(image, by string) (TrustedBuilder, error) {
	if err := buildpacks.CheckImageRef(image); err != nil {
		return TrustedBuilder{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	bs, err := p.builderStore()
	if err != nil {
		return TrustedBuilder{}, err
	}
	b := TrustedBuilder{Image: image, By: by, Added: time.Now().UTC()}
	if err := bs.TrustBuilder(b); err != nil {
		return TrustedBuilder{}, err
	}
	p.log.Info("builder trusted", "image", image, "by", by)
	return b, nil
}

// UntrustBuilder stops CNB builds from using builder image; the releases
// it built keep running.
func (p *Platform) UntrustBuilder(image string) error {
	if len(image) == 0 || len(image) > 255 {
		return fmt.Errorf("%w: give the image name as `builders` lists it", ErrInvalid)
	}
	bs, err := p.builderStore()
	if err != nil {
		return err
	}
	if err := bs.UntrustBuilder(image); err != nil {
		return err
	}
	p.log.Info("builder untrusted", "image", image)
	return nil
}
