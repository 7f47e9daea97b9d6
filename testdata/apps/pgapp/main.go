// Command pgapp is a sample app on a PostgreSQL addon, through lib/pq
// with the DATABASE_URL nua injects (lib/pq's default sslmode=require):
//
//	POST /items?v=TEXT  stores a row
//	GET  /items         the rows' values, one a line, oldest first
//	GET  /              "pgapp" and the server's version
package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pgapp:", err)
		os.Exit(1)
	}
}

func run() error {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fmt.Errorf("DATABASE_URL is not set: attach a postgres addon")
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, v text NOT NULL)`); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var v string
		if err := db.QueryRow(`SELECT version()`).Scan(&v); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "pgapp on %s\n", v)
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		if _, err := db.Exec(`INSERT INTO items (v) VALUES ($1)`, r.URL.Query().Get("v")); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintln(w, "stored")
	})
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.Query(`SELECT v FROM items ORDER BY id`)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer rows.Close()
		var vs []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			vs = append(vs, v)
		}
		fmt.Fprint(w, strings.Join(vs, "\n"))
	})
	mux.HandleFunc("GET /ssl", func(w http.ResponseWriter, r *http.Request) {
		var ssl bool
		if err := db.QueryRow(`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, ssl)
	})
	return serve(mux)
}

func serve(h http.Handler) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &http.Server{Addr: ":" + os.Getenv("PORT"), Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
