package nua

import (
	"context"
	"io"
	"time"
)

// Builder turns an app's source into a slug, the built app that releases
// run, and keeps slugs on disk as long as releases may run them. The
// runtime package implements it on the buildpacks.
type Builder interface {
	// Build writes the app's source into an empty directory with fill,
	// builds it there with the app's config and build cache, writing the
	// build output to out, and keeps the result as the app's slug number
	// v. An error from fill is returned as it is; on any error nothing of
	// the build is kept.
	Build(ctx context.Context, app App, v int, fill func(dir string) error, out io.Writer) (Slug, error)
	// HasSlug reports whether the app's slug number v is still kept.
	HasSlug(app string, v int) bool
	// RemoveSlugs deletes the app's slugs whose number keep rejects, with
	// what their builds hold outside them (store paths, images); a nil
	// keep removes them all.
	RemoveSlugs(app string, keep func(v int) bool)
}

// Slug is what a build made.
type Slug struct {
	// Buildpack names what built the app.
	Buildpack string
	// Processes are the app's process types and their commands.
	Processes map[string]string
}

// Runner runs releases: an app's long-running processes, its release
// phase and its one-off commands, each in the app's sandbox. The runtime
// package implements it.
type Runner interface {
	// Launch starts rel's processes of type typ (every type when typ is
	// ""), app.Scale(typ) instances each, in place of the running ones:
	// new web instances must listen and pass rel's health checks before
	// the route switches to them and the old ones retire. When a type
	// with no instances left is launched, its old ones stop. On error the
	// running instances of the failed type keep running.
	Launch(ctx context.Context, app App, rel Release, typ string) error
	// Scale brings the app's running instances of typ to n, starting or
	// stopping only the difference; new web instances get traffic once
	// they pass their checks.
	Scale(ctx context.Context, app App, rel Release, typ string, n int) error
	// Stop stops every process of the app and removes its route.
	Stop(ctx context.Context, app string) error
	// ReleasePhase runs cmd once in rel's slug with rel's environment,
	// its output to out; an error, a non-zero exit included, gates the
	// deploy.
	ReleasePhase(ctx context.Context, app App, rel Release, cmd string, out io.Writer) error
	// Run runs a one-off command in rel's slug and returns its exit
	// status; the process dies with ctx.
	Run(ctx context.Context, app App, rel Release, req RunRequest) (int, error)
	// Remove stops every process of the app, retiring ones included, and
	// removes its route and its sandbox, for an app being destroyed.
	Remove(ctx context.Context, app App) error
	// Close stops the processes of every app; Restore brings them back.
	Close(ctx context.Context) error
}

// Monitor tells what apps' processes do.
type Monitor interface {
	// Ps returns the app's running instances in type and index order.
	Ps(app string) []ProcessStatus
	// Logs writes the app's logs to w, following them while opt.Follow
	// and ctx last.
	Logs(ctx context.Context, app string, opt LogOptions, w io.Writer) error
	// Event records something nua did to the app ("deploy", "ps" ...
	// as source) in the app's logs.
	Event(app, source, msg string)
	// Output returns a writer whose lines go to the app's logs as those
	// of process name ("cron.1"); it must be closed.
	Output(app, name string) (io.WriteCloser, error)
	// Limits returns the limits each instance of the app's process type
	// typ runs with: app.Resources over the defaults.
	Limits(app App, typ string) Limits
	// Sandboxed reports whether apps run confined, with one line saying
	// how (or why not).
	Sandboxed() (bool, string)
}

// ProcessStatus is one running instance as `ps` shows it.
type ProcessStatus struct {
	Name     string    // "web.1"
	State    string    // "up", "starting", "crashed" ...
	PID      int       // OS pid while running, else 0
	Port     int       // PORT of a web instance, else 0
	Restarts int       // restarts so far
	Since    time.Time // when State was entered
	ExitErr  string    // how the last run ended ("exit status 1"), "" before any
	// OOMKills counts the runs killed for going over their memory limit.
	OOMKills int
	// Memory and CPU are what the current run uses (sandboxed processes).
	Memory int64
	CPU    time.Duration
	// Release is the version the instance runs.
	Release int
}

// LogOptions selects what Logs shows.
type LogOptions struct {
	Lines  int    // the last Lines lines; 0 = 100, negative = none
	Follow bool   // then stream new lines until ctx is done
	Type   string // only this process type ("web") and nua's events; "" = all
}

// TTY is a terminal the client asked for.
type TTY struct {
	Term          string
	Width, Height int
	// Resize brings window size changes; it may be nil.
	Resize <-chan [2]int
}

// RunRequest is a one-off command in an app's current release.
type RunRequest struct {
	App     string
	Command []string // argv; run without a shell (`sh -c '...'` for one)
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// TTY, when set, runs the command on a pseudo-terminal.
	TTY *TTY
}
