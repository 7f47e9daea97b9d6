package commands

import (
	"fmt"
	"strings"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/excerpt"
	"github.com/urfave/cli/v2"
)

// Who says who may run a command.
type Who int

// The kinds of rule.
const (
	// Anyone may run it: any user, through any door.
	Anyone Who = iota + 1
	// Member: the owner or a collaborator of the app named by the
	// argument at Arg, or an admin.
	Member
	// MemberIfGiven is Member when the app argument is given, else Anyone
	// (the command then shows the caller's apps only).
	MemberIfGiven
	// MemberOrNew is Member, or anyone when the app does not exist yet: a
	// first push makes it, owned by the pusher.
	MemberOrNew
	// Owner: the owner of the app at Arg, or an admin.
	Owner
	// Self: the user named at Arg is the caller (the caller when the
	// argument is not given), or the caller is an admin.
	Self
	// Admin: admins only.
	Admin
	// LocalOnly runs where the nua binary runs, never through the SSH
	// door or the admin socket.
	LocalOnly
	// PushHook is the daemon's own git hook, on the admin socket: it acts
	// as the pusher that its push session's token names, never as a user
	// its caller names.
	PushHook
)

// Rule is the authorisation rule of one command.
type Rule struct {
	Who Who
	// Arg is the position of the app (or user) argument Who checks.
	Arg int
	// Change marks a command that changes something: each run, and each
	// refusal, goes to the audit trail.
	Change bool
	// Event names the change in the trail when not the command's name.
	Event string
	// Addon: the argument at 0 names an addon, which the caller must be
	// a member of the app of (or, for a command that changes nothing, of
	// an app it is attached to), besides Who's check.
	Addon bool
	// Detail says what changed, from the command line; by default the
	// arguments but the app's. It must never hold a config value.
	Detail func(c *cli.Context) string
}

// rules is the one table of who may run each command, on every door. A
// command missing here is refused; TestEveryCommandHasARule keeps it full.
var rules = map[string]Rule{
	// Anyone.
	"help":        {Who: Anyone},
	"version":     {Who: Anyone},
	"doctor":      {Who: Anyone},
	"whoami":      {Who: Anyone},
	"apps":        {Who: Anyone}, // lists the caller's apps only
	"apps:create": {Who: Anyone, Change: true},
	"events":      {Who: MemberIfGiven},
	"addons":      {Who: MemberIfGiven}, // the caller's apps' addons only
	// Addons: a member of the addon's app.
	"addons:info":    {Who: Anyone, Addon: true},
	"addons:destroy": {Who: Anyone, Addon: true, Change: true},

	// An app's owner, collaborators and the admins.
	"apps:info":          {Who: Member},
	"apps:purge-cache":   {Who: Member, Change: true},
	"releases":           {Who: Member},
	"cron":               {Who: Member},
	"cron:run":           {Who: Member, Change: true},
	"rollback":           {Who: Member, Change: true},
	"config":             {Who: Member},
	"config:get":         {Who: Member},
	"config:set":         {Who: Member, Change: true, Detail: configNames},
	"config:unset":       {Who: Member, Change: true},
	"ps":                 {Who: Member},
	"ps:scale":           {Who: Member, Change: true},
	"ps:restart":         {Who: Member, Change: true},
	"restart":            {Who: Member, Change: true},
	"ps:stop":            {Who: Member, Change: true},
	"ps:start":           {Who: Member, Change: true},
	"run":                {Who: Member, Change: true, Detail: runProgram},
	"logs":               {Who: Member},
	"resources":          {Who: Member},
	"resources:set":      {Who: Member, Change: true},
	"access":             {Who: Member},
	"addons:create":      {Who: Member, Change: true},
	"addons:attach":      {Who: Member, Arg: 1, Addon: true, Change: true},
	"addons:detach":      {Who: Member, Arg: 1, Change: true},
	"pg:psql":            {Who: Member, Change: true},
	"pg:info":            {Who: Member},
	"redis:cli":          {Who: Member, Change: true},
	"mariadb:cli":        {Who: Member, Change: true},
	"domains":            {Who: Member},
	"domains:add":        {Who: Member, Change: true},
	"domains:remove":     {Who: Member, Change: true},
	"domains:clear":      {Who: Member, Change: true},
	"domains:redirect":   {Who: Member, Change: true},
	"certs":              {Who: Member},
	"certs:add":          {Who: Member, Change: true},
	"certs:remove":       {Who: Member, Change: true},
	"git-upload-pack":    {Who: Member},
	"backups":            {Who: Member},
	"backups:capture":    {Who: Member, Change: true},
	"backups:restore":    {Who: Member, Change: true},
	"backups:download":   {Who: Member, Change: true},
	"backups:delete":     {Who: Member, Change: true},
	"backups:schedule":   {Who: Member, Change: true},
	"backups:unschedule": {Who: Member, Change: true},
	"backups:verify":     {Who: Member, Change: true},
	// A refused push is recorded here; the others by their hook.
	"git-receive-pack": {Who: MemberOrNew, Change: true, Event: "push"},

	// An app's owner and the admins.
	"apps:destroy":  {Who: Owner, Change: true},
	"apps:transfer": {Who: Owner, Change: true},
	"access:add":    {Who: Owner, Change: true},
	"access:remove": {Who: Owner, Change: true},

	// A user's own API tokens (an admin sees and revokes anyone's).
	"dashboard":     {Who: Anyone},
	"tokens":        {Who: Anyone},
	"tokens:create": {Who: Anyone, Change: true},
	"tokens:revoke": {Who: Anyone, Change: true},

	// A user's own keys; an admin's for anyone.
	"keys":        {Who: Self},
	"keys:add":    {Who: Self, Change: true},
	"keys:remove": {Who: Self, Change: true},

	// Admins: users and server-wide settings.
	"users":                  {Who: Admin},
	"users:add":              {Who: Admin, Change: true, Detail: userAdded},
	"users:remove":           {Who: Admin, Change: true},
	"builders":               {Who: Admin},
	"runtimes":               {Who: Admin},
	"runtimes:prune":         {Who: Admin, Change: true},
	"system:df":              {Who: Admin},
	"system:prune":           {Who: Admin, Change: true},
	"builders:trust":         {Who: Admin, Change: true},
	"builders:untrust":       {Who: Admin, Change: true},
	"notifications":          {Who: Admin},
	"notifications:add":      {Who: Admin, Change: true},
	"notifications:remove":   {Who: Admin, Change: true},
	"notifications:test":     {Who: Admin},
	"backups:targets":        {Who: Admin},
	"server:backup":          {Who: Admin, Change: true},
	"backups:targets:add":    {Who: Admin, Change: true, Detail: targetAdded},
	"backups:targets:remove": {Who: Admin, Change: true},

	// The machine of the nua binary.
	"server":         {Who: LocalOnly},
	"server:restore": {Who: LocalOnly},
	"dev":            {Who: LocalOnly},
	"build":          {Who: LocalOnly},
	"warm":           {Who: LocalOnly},
	"serve-static":   {Who: LocalOnly},
	"container-run":  {Who: LocalOnly},
	"container-reap": {Who: LocalOnly},
	"hook":           {Who: LocalOnly},

	// The daemon's git hook, on the socket.
	"hook:pre-receive": {Who: PushHook, Change: true, Event: "push"},
}

// RuleOf returns the rule of the named command.
func RuleOf(name string) (Rule, bool) {
	r, ok := rules[name]
	return r, ok
}

// appRule reports whether the rule's argument is an app.
func (r Rule) appRule() bool {
	switch r.Who {
	case Member, MemberIfGiven, MemberOrNew, Owner:
		return true
	}
	return false
}

// configNames lists the names config:set sets, never their values.
func configNames(c *cli.Context) string {
	var names []string
	for _, arg := range c.Args().Tail() {
		k, _, _ := strings.Cut(arg, "=")
		names = append(names, k)
	}
	return excerpt.Within(strings.Join(names, " "), 200)
}

// runProgram names the program run runs, not its arguments, which may
// hold secrets.
func runProgram(c *cli.Context) string {
	return excerpt.Within(c.Args().Get(1), 200)
}

func userAdded(c *cli.Context) string {
	if c.Bool("admin") {
		return c.Args().First() + " (admin)"
	}
	return c.Args().First()
}

// defaultDetail is the command's arguments but the app.
func defaultDetail(r Rule, args []string) string {
	if r.appRule() && r.Arg < len(args) {
		args = append(args[:r.Arg:r.Arg], args[r.Arg+1:]...)
	}
	return excerpt.Within(strings.Join(args, " "), 200)
}

// forbidden is a refusal: it says who may and what to do.
func forbidden(format string, a ...any) error {
	return fmt.Errorf("%w: %s", nua.ErrForbidden, fmt.Sprintf(format, a...))
}

// Unruled returns the names of the commands of cmds, subcommands
// included, that have no rule: the guard refuses them.
func Unruled(cmds []*cli.Command) []string {
	var missing []string
	for _, cmd := range cmds {
		if _, ok := rules[cmd.Name]; !ok {
			missing = append(missing, cmd.Name)
		}
		missing = append(missing, Unruled(cmd.Subcommands)...)
	}
	return missing
}

// targetAdded names the target and its bucket, never its keys.
func targetAdded(c *cli.Context) string {
	return excerpt.Within(c.Args().Get(0)+" "+c.Args().Get(1), 200)
}
