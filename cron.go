package nua

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// CronJob is a job of app.json's cron list, in Dokku's format: command
// runs as a one-off in the app's current release on schedule, five cron
// fields or a descriptor such as @daily, in the server's time zone.
type CronJob struct {
	Command  string `json:"command"`
	Schedule string `json:"schedule"`
}

// Limits of app.json's cron list.
const (
	maxCronJobs    = 50
	maxCronCommand = 4096
)

// cronParser reads standard five-field schedules and descriptors (@daily,
// @hourly, @every 10m).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func checkCron(jobs []CronJob) error {
	if len(jobs) > maxCronJobs {
		return fmt.Errorf("%w: app.json cron: %d jobs, at most %d", ErrInvalid, len(jobs), maxCronJobs)
	}
	for i, j := range jobs {
		if strings.TrimSpace(j.Command) == "" || len(j.Command) > maxCronCommand || strings.ContainsRune(j.Command, 0) {
			return fmt.Errorf("%w: app.json cron[%d].command: give a command line of up to %d bytes", ErrInvalid, i, maxCronCommand)
		}
		if _, err := cronParser.Parse(j.Schedule); err != nil {
			return fmt.Errorf("%w: app.json cron[%d].schedule %q: %v (want five fields, e.g. \"*/5 * * * *\", or @hourly, @daily)", ErrInvalid, i, clip(j.Schedule), err)
		}
	}
	return nil
}

// CronStatus is one job of an app's current release as `cron` shows it.
type CronStatus struct {
	ID       int // cron.ID in the logs: its place in app.json, from 1
	Job      CronJob
	Next     time.Time
	Running  bool
	LastRun  time.Time // zero: not run since nua started
	LastExit int
	LastErr  string // why it could not run, if it could not
}

// cronState is what the scheduler keeps of one job.
type cronState struct {
	job     CronJob
	next    time.Time
	running bool
	last    time.Time
	exit    int
	err     string
}

// crons holds the scheduler's state, per app and job ID.
type crons struct {
	mu      sync.Mutex
	ctx     context.Context // RunCron's: jobs end with it; nil until it runs
	jobs    map[string]map[int]*cronState
	release map[string]releaseJobs // per app: the jobs of its current release
	wg      sync.WaitGroup
}

// releaseJobs are the cron jobs of release version of an app.
type releaseJobs struct {
	version int
	jobs    []CronJob
}

// RunCron runs the apps' cron jobs until ctx ends: at each tick it starts
// the jobs whose time has come, in the app's current release. A job still
// running when its time comes again is not started twice. It waits for
// the jobs it started before it returns.
func (p *Platform) RunCron(ctx context.Context, tick <-chan time.Time) {
	p.crons.mu.Lock()
	p.crons.ctx = ctx
	p.crons.mu.Unlock()
	defer p.crons.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick:
			p.cronTick(now)
		}
	}
}

// cronTick starts the jobs due at now.
func (p *Platform) cronTick(now time.Time) {
	apps, err := p.cfg.Store.Apps()
	if err != nil {
		p.log.Error("cron: list apps", "err", err)
		return
	}
	for _, app := range apps {
		for _, st := range p.cronSchedule(app, now) {
			p.crons.mu.Lock()
			due := !st.next.After(now)
			if due {
				sched, _ := cronParser.Parse(st.job.Schedule)
				st.next = sched.Next(now)
			}
			p.crons.mu.Unlock()
			if due && !p.startCron(app.Name, st.id) {
				p.cfg.Monitor.Event(app.Name, "cron", fmt.Sprintf("cron.%d still running at its next time: not started twice", st.id))
			}
		}
	}
}

// scheduled is a job's state with its ID.
type scheduled struct {
	*cronState
	id int
}

// cronSchedule returns the state of the jobs of app's current release,
// made anew for a job whose command or schedule changed.
func (p *Platform) cronSchedule(app App, now time.Time) []scheduled {
	p.crons.mu.Lock()
	seen, ok := p.crons.release[app.Name]
	p.crons.mu.Unlock()
	if !ok || seen.version != app.Release { // read a release once, not at every tick
		seen = releaseJobs{version: app.Release}
		if rel, err := p.currentRelease(app); err == nil {
			seen.jobs = rel.Cron
		}
	}
	jobs := seen.jobs
	if app.Stopped {
		jobs = nil
	}
	p.crons.mu.Lock()
	defer p.crons.mu.Unlock()
	if p.crons.jobs == nil {
		p.crons.jobs = map[string]map[int]*cronState{}
		p.crons.release = map[string]releaseJobs{}
	}
	p.crons.release[app.Name] = seen
	states := p.crons.jobs[app.Name]
	if states == nil {
		states = map[int]*cronState{}
		p.crons.jobs[app.Name] = states
	}
	var out []scheduled
	for i, j := range jobs {
		id := i + 1
		st := states[id]
		if st == nil || st.job != j {
			sched, err := cronParser.Parse(j.Schedule)
			if err != nil {
				continue // checked at deploy
			}
			st = &cronState{job: j, next: sched.Next(now)}
			states[id] = st
		}
		out = append(out, scheduled{st, id})
	}
	for id, st := range states {
		if id > len(jobs) && !st.running {
			delete(states, id)
		}
	}
	return out
}

// startCron runs job id of app in the background, in the app's current
// release, its output in the logs as cron.ID. It returns false, starting
// nothing, when the job is running already or the scheduler is not.
func (p *Platform) startCron(app string, id int) bool {
	p.crons.mu.Lock()
	defer p.crons.mu.Unlock()
	st := p.crons.jobs[app][id]
	ctx := p.crons.ctx
	if st == nil || st.running || ctx == nil || ctx.Err() != nil {
		return false
	}
	st.running = true
	p.crons.wg.Go(func() {
		exit, err := p.runCron(ctx, app, id, st.job)
		p.crons.mu.Lock()
		st.running, st.last, st.exit, st.err = false, time.Now(), exit, ""
		if err != nil {
			st.err = firstLine(err.Error())
		}
		p.crons.mu.Unlock()
	})
	return true
}

func (p *Platform) runCron(ctx context.Context, name string, id int, job CronJob) (int, error) {
	app, err := p.App(name)
	if err != nil {
		return 0, err
	}
	rel, err := p.currentRelease(app)
	if err != nil {
		return 0, err
	}
	out, err := p.cfg.Monitor.Output(name, "cron."+strconv.Itoa(id))
	if err != nil {
		return 0, err
	}
	defer out.Close()
	p.cfg.Monitor.Event(name, "cron", fmt.Sprintf("cron.%d started: %s", id, job.Command))
	exit, err := p.cfg.Runner.Run(ctx, app, rel, RunRequest{App: name, Command: []string{"/bin/sh", "-c", job.Command}, Stdout: out, Stderr: out})
	switch {
	case err != nil:
		p.cfg.Monitor.Event(name, "cron", fmt.Sprintf("cron.%d could not run: %v", id, err))
	default:
		p.cfg.Monitor.Event(name, "cron", fmt.Sprintf("cron.%d ended with exit status %d", id, exit))
	}
	return exit, err
}

// Cron returns the jobs of the app's current release, with their next and
// last runs.
func (p *Platform) Cron(name string) ([]CronStatus, error) {
	app, err := p.App(name)
	if err != nil {
		return nil, err
	}
	var out []CronStatus
	for _, st := range p.cronSchedule(app, time.Now()) {
		p.crons.mu.Lock()
		out = append(out, CronStatus{ID: st.id, Job: st.job, Next: st.next, Running: st.running, LastRun: st.last, LastExit: st.exit, LastErr: st.err})
		p.crons.mu.Unlock()
	}
	return out, nil
}

// RunCronNow starts the app's job id at once, unless it is running.
func (p *Platform) RunCronNow(name string, id int) error {
	app, err := p.App(name)
	if err != nil {
		return err
	}
	jobs := p.cronSchedule(app, time.Now())
	if !slices.ContainsFunc(jobs, func(s scheduled) bool { return s.id == id }) {
		return fmt.Errorf("%w: %s has no cron job %d: `cron %s` lists them", ErrNotFound, name, id, name)
	}
	if !p.startCron(name, id) {
		return fmt.Errorf("%w: cron.%d of %s is running already (or nua is stopping): it is not started twice", ErrInvalid, id, name)
	}
	return nil
}
