package commands

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

// cronCommands show and start the cron jobs of an app's app.json.
func cronCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "cron", Usage: "list an app's cron jobs (app.json cron) with their next and last runs", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				app, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				jobs, err := p.Cron(app)
				if err != nil {
					return err
				}
				if len(jobs) == 0 {
					fmt.Fprintf(c.App.Writer, "%s has no cron jobs: add them to app.json, e.g. \"cron\": [{\"command\": \"bin/clean\", \"schedule\": \"@daily\"}]\n", app)
					return nil
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSCHEDULE\tNEXT\tLAST\tCOMMAND")
				for _, j := range jobs {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", j.ID, j.Job.Schedule, j.Next.Format("2006-01-02 15:04 MST"), lastRun(j), printable(j.Job.Command))
				}
				return tw.Flush()
			}),
		},
		{
			Name: "cron:run", Usage: "run one of an app's cron jobs now (its output in logs, as cron.ID)", ArgsUsage: "APP ID",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				app, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				id, err := strconv.Atoi(c.Args().Get(1))
				if err != nil || id < 1 {
					return usageError{fmt.Sprintf("cron job ID %q: give the number `cron %s` lists", printable(c.Args().Get(1)), app)}
				}
				if err := p.RunCronNow(app, id); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Started cron.%d of %s: `logs %s --ps cron` shows its output\n", id, app, app)
				return nil
			}),
		},
	}
}

// lastRun says how a job's last run went.
func lastRun(j nua.CronStatus) string {
	switch {
	case j.Running:
		return "running"
	case j.LastRun.IsZero():
		return "not since nua started"
	case j.LastErr != "":
		return j.LastRun.Format(time.DateTime) + " could not run: " + strings.TrimSpace(j.LastErr)
	}
	return fmt.Sprintf("%s exit %d", j.LastRun.Format(time.DateTime), j.LastExit)
}
