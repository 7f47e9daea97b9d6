// Package commands is nua's command tree. The same tree serves every door:
// the local CLI (which hands daemon commands to the server through its
// socket), the admin socket and the SSH server.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/excerpt"
)

// Door says where a command line came from.
type Door int

// The doors.
const (
	Local  Door = iota // the nua binary on the server or a laptop
	Socket             // the admin socket: the local CLI, and git hooks
	SSH                // a remote user with an authorised key
	Web                // the HTTP API and the dashboard (Allow, not the tree)
)

// Options configure one run of the tree.
type Options struct {
	Door Door
	// Platform runs the daemon commands; nil on the Local door.
	Platform *nua.Platform
	// Who runs the command: the key's user over SSH, an admin on the
	// socket. Unused on the Local door, whose daemon commands the socket
	// checks.
	Who nua.Identity
	// Forward runs a daemon command line on the server (Local door).
	Forward func(c *cli.Context, args []string) (int, error)
	// Dashboard makes the dashboard's login links; nil when it is off.
	Dashboard Dashboard
	// Backups captures and restores apps' backups; nil when the door
	// has none.
	Backups Backups
	// TTY is the terminal an SSH client asked for, for `run`.
	TTY *nua.TTY
	// MaxScale caps ps:scale per process type; 0 means nua.DefaultMaxScale.
	MaxScale int
	// Extra commands of the door, such as `server` on the Local door.
	Extra  []*cli.Command
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

func (o Options) maxScale() int {
	if o.MaxScale > 0 {
		return o.MaxScale
	}
	return nua.DefaultMaxScale
}

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// usageError is a command line that does not fit the command.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitCode is an exit status passed through from a forwarded command.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// ExitStatus is what an action returns to end nua with status code and no
// message of its own. Unlike os.Exit, it lets the action's deferred calls
// run first (a terminal put back from raw mode, say).
func ExitStatus(code int) error { return exitCode(code) }

// Run runs args (without the program name) through the tree, prints any
// error to o.Stderr and returns the exit status.
func Run(ctx context.Context, o Options, args []string) int {
	app := New(o)
	args = reorder(app, args)
	err := app.RunContext(ctx, append([]string{"nua"}, args...))
	var code exitCode
	var usage usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &usage):
		fmt.Fprintf(o.Stderr, " !     %s\n", err)
		return ExitUsage
	case errors.Is(err, nua.ErrInvalid):
		fmt.Fprintf(o.Stderr, " !     %s\n", message(err))
		return ExitUsage
	default:
		fmt.Fprintf(o.Stderr, " !     %s\n", message(err))
		return ExitError
	}
}

// message is err as the user reads it, without the sentinel's prefix.
func message(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{nua.ErrInvalid, nua.ErrForbidden} {
		msg = strings.TrimPrefix(msg, sentinel.Error()+": ")
	}
	return msg
}

// New builds the tree for one run.
func New(o Options) *cli.App {
	app := &cli.App{
		Name:           "nua",
		Usage:          "git push to deploy, on a server you own",
		Version:        nua.Version,
		HideVersion:    true,
		Reader:         o.Stdin,
		Writer:         o.Stdout,
		ErrWriter:      o.Stderr,
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err.Error()}
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{fmt.Sprintf("unknown command %q: run `nua help` for the list", excerpt.Of(c.Args().First()))}
			}
			cli.ShowAppHelp(c)
			return usageError{"no command given"}
		},
	}
	if o.Door == Local {
		app.Flags = []cli.Flag{dataFlag()}
	}
	for _, group := range [][]*cli.Command{
		appCommands(o), configCommands(o), psCommands(o), cronCommands(o), resourceCommands(o), userCommands(o), keyCommands(o),
		accessCommands(o), eventCommands(o), builderCommands(o), runtimeCommands(o), systemCommands(o), notificationCommands(o), dashboardCommands(o), tokenCommands(o), addonCommands(o), backupCommands(o), HookCommands(o), o.Extra,
		domainCommands(o),
		{versionCommand(o), doctorCommand(o)},
	} {
		app.Commands = append(app.Commands, group...)
	}
	guardAll(o, app.Commands)
	for _, cmd := range app.Commands {
		cmd.OnUsageError = app.OnUsageError
		if o.Door == Local && !slices.ContainsFunc(cmd.Flags, isDataFlag) {
			cmd.Flags = append(cmd.Flags, dataFlag())
		}
	}
	return app
}

// DataFlag names the data directory: `--data DIR`, or NUA_DATA.
const DataFlag = "data"

// DefaultData is the data directory when neither --data nor NUA_DATA says.
const DefaultData = "/var/lib/nua"

func dataFlag() cli.Flag {
	return &cli.StringFlag{Name: DataFlag, Usage: "nua's data directory (default: $NUA_DATA, then " + DefaultData + ")"}
}

// DataDir returns the data directory given before or after the command
// name, else NUA_DATA, else the default.
func DataDir(c *cli.Context) string {
	for _, cc := range c.Lineage() {
		if slices.Contains(cc.LocalFlagNames(), DataFlag) {
			return cc.String(DataFlag)
		}
	}
	if d := os.Getenv("NUA_DATA"); d != "" {
		return d
	}
	return DefaultData
}

func isDataFlag(f cli.Flag) bool { return slices.Contains(f.Names(), DataFlag) }

// daemon wraps the action of a command that runs on the server: on the
// Local door it forwards the command line instead.
func daemon(o Options, fn func(c *cli.Context, p *nua.Platform) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if o.Platform != nil {
			return fn(c, o.Platform)
		}
		code, err := o.Forward(c, forwardArgs(c))
		if err != nil {
			return err
		}
		if code != 0 {
			return exitCode(code)
		}
		return nil
	}
}

// forwardArgs rebuilds the command line of c for the server: the command
// name, its set flags (but the data directory) and its arguments.
func forwardArgs(c *cli.Context) []string {
	args := []string{c.Command.Name}
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if name == DataFlag || !c.IsSet(name) {
			continue
		}
		switch f.(type) {
		case *cli.BoolFlag:
			args = append(args, fmt.Sprintf("--%s=%t", name, c.Bool(name)))
		default:
			args = append(args, "--"+name, fmt.Sprint(c.Value(name)))
		}
	}
	if c.Command.SkipFlagParsing { // its arguments go as they are
		return append(args, c.Args().Slice()...)
	}
	return append(append(args, "--"), c.Args().Slice()...)
}

// appArgs checks the command has min to max arguments (max < 0: any
// number) and returns the first as a valid app name.
func appArgs(c *cli.Context, min, max int) (string, error) {
	if err := wantArgs(c, min, max); err != nil {
		return "", err
	}
	name := c.Args().First()
	return name, nua.ValidateAppName(name)
}

// wantArgs checks the number of positional arguments.
func wantArgs(c *cli.Context, min, max int) error {
	if n := c.NArg(); n < min || (max >= 0 && n > max) {
		return usageError{fmt.Sprintf("usage: nua %s %s", c.Command.Name, c.Command.ArgsUsage)}
	}
	return nil
}

// reorder moves the flags given after a command's arguments in front of
// them (`logs APP -t` means `logs -t APP`), which the flag parser needs.
// Everything after `--` stays an argument.
func reorder(app *cli.App, args []string) []string {
	i := commandIndex(app.Flags, args)
	if i < 0 {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil || cmd.SkipFlagParsing {
		return args
	}
	takesValue := valueFlags(cmd.Flags)
	var flags, pos []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			pos = append(pos, rest[j+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && takesValue[name] && j+1 < len(rest) {
			j++
			flags = append(flags, rest[j])
		}
	}
	out := slices.Clone(args[:i+1])
	out = append(out, flags...)
	if len(pos) > 0 {
		out = append(append(out, "--"), pos...)
	}
	return out
}

// commandIndex returns the index of the command name in args, past the
// global flags, or -1.
func commandIndex(global []cli.Flag, args []string) int {
	takesValue := valueFlags(global)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return i
		}
		if name := strings.TrimLeft(a, "-"); !strings.Contains(name, "=") && takesValue[name] {
			i++
		}
	}
	return -1
}

// valueFlags returns the names of the flags that take a value.
func valueFlags(flags []cli.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			m[n] = !isBool
		}
	}
	return m
}
