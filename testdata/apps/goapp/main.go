// Command goapp is the sample Go app that nua's end-to-end tests push.
//
//	GET /         hello from goapp <$GREETING or "world">
//	GET /env/KEY  the value of the environment variable KEY (404 if unset)
//	GET /crash    exits the process with status 1
//	GET /alloc/N  allocates N MiB more and keeps it (memory figures' tests)
//
// It listens on :$PORT and shuts down gracefully on SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "goapp:", err)
		os.Exit(1)
	}
}

func run() error {
	port := os.Getenv("PORT")
	if port == "" {
		return errors.New("PORT is not set")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	srv := &http.Server{Addr: ":" + port, Handler: routes(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Printf("goapp listening on :%s\n", port)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Println("goapp shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// held keeps what /alloc allocated.
var held struct {
	sync.Mutex
	blocks [][]byte
}

func routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		greeting := os.Getenv("GREETING")
		if greeting == "" {
			greeting = "world"
		}
		fmt.Fprintf(w, "hello from goapp %s\n", greeting)
	})
	mux.HandleFunc("GET /env/{key}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(r.PathValue("key"))
		if !ok {
			http.Error(w, "not set", http.StatusNotFound)
			return
		}
		fmt.Fprint(w, v)
	})
	mux.HandleFunc("GET /header/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get(r.PathValue("name")))
	})
	mux.HandleFunc("GET /alloc/{mib}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("mib"))
		if err != nil || n < 1 || n > 512 {
			http.Error(w, "give 1 to 512 MiB", http.StatusBadRequest)
			return
		}
		b := make([]byte, n<<20)
		for i := range b { // touched, so that it is resident
			b[i] = 1
		}
		held.Lock()
		held.blocks = append(held.blocks, b)
		held.Unlock()
		fmt.Fprintf(w, "holding %d MiB more\n", n)
	})
	mux.HandleFunc("GET /crash", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(os.Stderr, "goapp crashing on request")
		os.Exit(1)
	})
	return mux
}
