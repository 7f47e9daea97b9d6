package python

import (
	"os"
	"path/filepath"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

// AppWeb is the default web process of an app with an app.py and no
// manage.py or wsgi.py.
const AppWeb = "python app.py"

// setWeb sets the default web process, or says how to declare one, when
// the app has no Procfile: a Django app (manage.py) or a WSGI module
// (wsgi.py) gets a hint naming the gunicorn line to add, as nua cannot
// know whether gunicorn is what the app wants; an app.py alone runs as
// `python app.py`, which must listen on $PORT.
func setWeb(b *buildpacks.Build) error {
	if ok, err := srcfile.Present(b.Src, "Procfile"); ok || err != nil {
		return err
	}
	has := func(name string) bool {
		ok, _ := srcfile.Exists(b.Src, name)
		return ok
	}
	switch {
	case has("manage.py"):
		b.Out.Warn("Django app (manage.py) and no Procfile: declare the web process in a Procfile, e.g.\nweb: gunicorn %s.wsgi", djangoProject(b.Src))
	case has("wsgi.py"):
		b.Out.Warn("wsgi.py and no Procfile: declare the web process in a Procfile, e.g.\nweb: gunicorn wsgi:app")
	case has("app.py"):
		b.Out.Info("No Procfile: app.py runs as the web process (%s); it must listen on $PORT", AppWeb)
		b.Processes["web"] = AppWeb
	default:
		b.Out.Warn("No Procfile and no app.py: declare the web process in a Procfile, e.g.\nweb: gunicorn myapp.wsgi")
	}
	return nil
}

// djangoProject guesses the Django project package: the directory that
// holds wsgi.py, else PROJECT.
func djangoProject(src string) string {
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if ok, _ := srcfile.Exists(filepath.Join(src, e.Name()), "wsgi.py"); ok {
			return e.Name()
		}
	}
	return "PROJECT"
}
