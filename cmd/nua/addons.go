package main

import (
	"context"
	"log/slog"

	"github.com/nua-paas/nua/addons"
	"github.com/nua-paas/nua/addons/builtin"
	"github.com/nua-paas/nua/addons/supervisor"
)

// openAddons starts the servers of the addons made before (as root, as
// the nua-addons user, made at the first start) before the apps come
// back, and returns the service and what stops the servers, after the
// apps.
func openAddons(ctx context.Context, cfg serverConfig, log *slog.Logger) (*addons.Service, func(), error) {
	u, note, err := addons.ServiceUser()
	if err != nil {
		return nil, nil, err
	}
	log = log.With("component", "addons")
	log.Info(note)
	sup := supervisor.New(supervisor.Config{StopTimeout: cfg.stopTimeout, Logger: log})
	svc := addons.New(builtin.Drivers(addons.Host{Dir: builtin.Dir(cfg.data), User: u, Supervisor: sup})...)
	if err := svc.Open(ctx); err != nil {
		log.Error("addon servers", "err", err) // the apps that need none still run
	}
	return svc, func() { sup.Close(context.WithoutCancel(ctx)) }, nil
}
