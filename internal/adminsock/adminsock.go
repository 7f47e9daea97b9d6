// Package adminsock carries command lines to the daemon over its local unix
// socket, with the caller's stdin, stdout, stderr and exit status.
//
// The request is one JSON line, then frames both ways: a kind byte, a
// big-endian uint32 length and the payload. The client sends stdin ('i') and
// its end ('c'); the server sends stdout ('o'), stderr ('e') and the exit
// status ('x', a uint32). A client that goes away cancels its command.
//
// Only root and the server's own uid may use the socket: the server asks
// the kernel who connected (SO_PEERCRED) and refuses anyone else with one
// line on stderr and exit status 1, running nothing.
package adminsock

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

const (
	kindStdin    = 'i'
	kindStdinEnd = 'c'
	kindStdout   = 'o'
	kindStderr   = 'e'
	kindExit     = 'x'
	maxFrame     = 1 << 20
)

// Request is what a client asks for.
type Request struct {
	Args []string `json:"args"`
	User string   `json:"user,omitempty"`
	// UID is the client's uid, as the kernel tells the server.
	UID int `json:"-"`
}

// Handler runs a request and returns its exit status.
type Handler func(ctx context.Context, req Request, stdin io.Reader, stdout, stderr io.Writer) int

// Listen creates the socket at path, usable by its owner only, replacing a
// stale one.
func Listen(path string) (net.Listener, error) {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("listen %s: a nua server is running already", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen admin socket: %w", err)
	}
	// The data directory is 0700 as well, so there is no window to exploit.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen admin socket: %w", err)
	}
	return ln, nil
}

// Serve handles connections on ln until it is closed; each command's
// context derives from ctx.
func Serve(ctx context.Context, ln net.Listener, h Handler) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Go(func() { serveConn(ctx, conn, h) })
	}
}

func serveConn(ctx context.Context, conn net.Conn, h Handler) {
	defer conn.Close()
	w := &frameWriter{w: conn}
	uid, err := peerUID(conn)
	if err == nil && uid != 0 && uid != os.Getuid() {
		err = fmt.Errorf("uid %d may not run nua commands: run nua as root (sudo nua ...) or as the user nua runs as", uid)
	}
	if err != nil {
		refuse(conn, w, err)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	br := bufio.NewReader(conn)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return
	}
	req.UID = uid
	stdin, stdinW := io.Pipe()
	go func() {
		// Read the client's frames; when it goes away, cancel the command.
		err := readFrames(br, func(kind byte, p []byte) error {
			switch kind {
			case kindStdin:
				_, err := stdinW.Write(p)
				return err
			case kindStdinEnd:
				stdinW.Close()
			}
			return nil
		})
		stdinW.CloseWithError(err)
		if err != nil {
			cancel()
		}
	}()
	code := h(ctx, req, stdin, w.stream(kindStdout), w.stream(kindStderr))
	w.write(kindExit, binary.BigEndian.AppendUint32(nil, uint32(code)))
	stdin.Close()
}

// refuse tells a client it may not use the socket, then waits briefly for
// it to hang up, so that it reads the refusal before the connection drops.
func refuse(conn net.Conn, w *frameWriter, err error) {
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	w.write(kindStderr, []byte(" !     nua.sock: "+err.Error()+"\n"))
	w.write(kindExit, binary.BigEndian.AppendUint32(nil, 1))
	io.Copy(io.Discard, io.LimitReader(conn, maxFrame))
}

// Call runs args on the daemon listening at path and returns the exit status.
func Call(ctx context.Context, path string, req Request, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return 0, fmt.Errorf("connect to the nua server at %s (is `nua server` running?): %w", path, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	line, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	w := &frameWriter{w: conn}
	if _, err := conn.Write(append(line, '\n')); err != nil {
		return 0, err
	}
	if stdin != nil {
		go func() {
			io.Copy(w.stream(kindStdin), stdin)
			w.write(kindStdinEnd, nil)
		}()
	} else {
		w.write(kindStdinEnd, nil)
	}
	code := -1
	err = readFrames(bufio.NewReader(conn), func(kind byte, p []byte) error {
		switch kind {
		case kindStdout:
			_, err := stdout.Write(p)
			return err
		case kindStderr:
			_, err := stderr.Write(p)
			return err
		case kindExit:
			if len(p) != 4 {
				return errors.New("malformed exit frame")
			}
			code = int(binary.BigEndian.Uint32(p))
			return io.EOF
		}
		return nil
	})
	if code < 0 {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("nua server: %w", err)
	}
	return code, nil
}

// readFrames calls fn for each frame until an error; a clean end of the
// connection is io.EOF.
func readFrames(r *bufio.Reader, fn func(kind byte, p []byte) error) error {
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > maxFrame {
			return errors.New("frame too large")
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return err
		}
		if err := fn(hdr[0], p); err != nil {
			return err
		}
	}
}

// frameWriter writes whole frames to one connection from several goroutines.
type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (f *frameWriter) write(kind byte, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	hdr := [5]byte{kind}
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	if _, err := f.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := f.w.Write(p)
	return err
}

func (f *frameWriter) stream(kind byte) io.Writer { return streamWriter{f, kind} }

type streamWriter struct {
	f    *frameWriter
	kind byte
}

func (s streamWriter) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		n := min(len(rest), maxFrame)
		if err := s.f.write(s.kind, rest[:n]); err != nil {
			return len(p) - len(rest), err
		}
		rest = rest[n:]
	}
	return len(p), nil
}
