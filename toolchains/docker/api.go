package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// apiVersion is the Docker Engine API version nua speaks; podman's
// compatible service answers it too.
const apiVersion = "v1.41"

// DefaultHost is the Docker Engine API address when DOCKER_HOST is unset.
const DefaultHost = "unix:///var/run/docker.sock"

// client is a small Docker Engine API client: the few calls nua makes,
// over a unix socket or TCP.
type client struct {
	host string
	http *http.Client
	base string
	dial func(ctx context.Context) (net.Conn, error)
}

// newClient returns a client for host ("unix:///path" or "tcp://h:p").
func newClient(host string) (*client, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("parse Docker host %q: %w", host, err)
	}
	var dial func(ctx context.Context) (net.Conn, error)
	var d net.Dialer
	switch u.Scheme {
	case "unix":
		dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", u.Path) }
	case "tcp":
		dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", u.Host) }
	default:
		return nil, fmt.Errorf("parse Docker host %q: want unix:///PATH or tcp://HOST:PORT", host)
	}
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		DisableKeepAlives: true,
	}
	return &client{host: host, http: &http.Client{Transport: tr}, base: "http://docker/" + apiVersion, dial: dial}, nil
}

// apiError is an error answer of the engine.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Message }

// isStatus reports whether err is an engine answer with HTTP status code.
func isStatus(err error, code int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == code
}

// do sends a request and returns the response, or the engine's error.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body io.Reader, ctype string) (*http.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("Docker API at %s: %w", c.host, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var msg struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &msg) != nil || msg.Message == "" {
			msg.Message = strings.TrimSpace(string(b))
		}
		return nil, &apiError{Status: resp.StatusCode, Message: fmt.Sprintf("%s %s: %s", method, path, msg.Message)}
	}
	return resp, nil
}

// call sends a JSON request (in may be nil) and decodes the answer into
// out (when not nil).
func (c *client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	resp, err := c.do(ctx, method, path, query, body, ctype)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// ping checks that the engine answers.
func (c *client) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.call(ctx, "GET", "/_ping", nil, nil, nil)
}

// buildMessage is one line of the engine's build progress.
type buildMessage struct {
	Stream      string `json:"stream"`
	Error       string `json:"error"`
	ErrorDetail struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux struct {
		ID string `json:"ID"`
	} `json:"aux"`
}

// build builds the image of the tar build context ctxTar, writing the
// build's output to out, and returns the image ID.
func (c *client) build(ctx context.Context, ctxTar io.Reader, labels map[string]string, out io.Writer) (string, error) {
	lb, _ := json.Marshal(labels)
	mem := fmt.Sprint(buildMemory)
	q := url.Values{"rm": {"1"}, "forcerm": {"1"}, "labels": {string(lb)}, "memory": {mem}, "memswap": {mem}}
	resp, err := c.do(ctx, "POST", "/build", q, ctxTar, "application/x-tar")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var id string
	dec := json.NewDecoder(resp.Body)
	for {
		var m buildMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("read build output: %w", err)
		}
		if m.Error != "" {
			return "", errors.New(strings.TrimSpace(m.Error))
		}
		io.WriteString(out, m.Stream)
		if m.Aux.ID != "" {
			id = m.Aux.ID
		} else if rest, ok := strings.CutPrefix(strings.TrimSpace(m.Stream), "Successfully built "); ok && id == "" {
			id = rest
		}
	}
	if id == "" {
		return "", errors.New("the engine did not say which image it built")
	}
	return id, nil
}

// tag tags image as repo:tag.
func (c *client) tag(ctx context.Context, image, repo, tag string) error {
	return c.call(ctx, "POST", "/images/"+url.PathEscape(image)+"/tag", url.Values{"repo": {repo}, "tag": {tag}}, nil, nil)
}

// removeImage removes an image reference (a tag, or an unused ID).
func (c *client) removeImage(ctx context.Context, ref string) error {
	return c.call(ctx, "DELETE", "/images/"+url.PathEscape(ref), nil, nil, nil)
}

// imageConfig is what nua reads of an image.
type imageConfig struct {
	ID     string `json:"Id"`
	Config struct {
		Entrypoint []string
		Cmd        []string
		Labels     map[string]string
	}
}

func (c *client) inspectImage(ctx context.Context, ref string) (imageConfig, error) {
	var ic imageConfig
	err := c.call(ctx, "GET", "/images/"+url.PathEscape(ref)+"/json", nil, nil, &ic)
	return ic, err
}

// containerSpec is the body of a container create request.
type containerSpec struct {
	Image string
	// A one-off command reads its stdin through attach; Tty gives it a
	// terminal.
	OpenStdin, StdinOnce, AttachStdin, AttachStdout, AttachStderr, Tty bool `json:",omitempty"`

	Entrypoint   []string            `json:",omitempty"`
	Cmd          []string            `json:",omitempty"`
	Env          []string            `json:",omitempty"`
	Labels       map[string]string   `json:",omitempty"`
	ExposedPorts map[string]struct{} `json:",omitempty"`
	HostConfig   hostConfig
}

// hostConfig is what the engine is told of the host's side of a
// container. It has no field for binds, mounts, devices or privileges on
// purpose: nothing of the host goes into an app's container.
type hostConfig struct {
	Init         bool                     `json:",omitempty"`
	ConsoleSize  *[2]uint                 `json:",omitempty"` // height, width
	PortBindings map[string][]portBinding `json:",omitempty"`

	Memory     int64 `json:",omitempty"` // bytes
	MemorySwap int64 `json:",omitempty"` // memory plus swap: = Memory, no swap
	NanoCpus   int64 `json:",omitempty"` // CPU time in billionths of a core
	PidsLimit  int64 `json:",omitempty"`
	// SecurityOpt holds no-new-privileges: setuid binaries in the image
	// gain nothing.
	SecurityOpt []string `json:",omitempty"`
	CapDrop     []string `json:",omitempty"`
	CapAdd      []string `json:",omitempty"`
}

type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

// create creates a container named name and returns its ID.
func (c *client) create(ctx context.Context, name string, spec containerSpec) (string, error) {
	var out struct {
		ID string `json:"Id"`
	}
	err := c.call(ctx, "POST", "/containers/create", url.Values{"name": {name}}, spec, &out)
	return out.ID, err
}

func (c *client) start(ctx context.Context, id string) error {
	return c.call(ctx, "POST", "/containers/"+id+"/start", nil, nil, nil)
}

// stop asks the container to stop, killing it after timeout.
func (c *client) stop(ctx context.Context, id string, timeout time.Duration) error {
	err := c.call(ctx, "POST", "/containers/"+id+"/stop", url.Values{"t": {fmt.Sprint(int(timeout.Seconds()))}}, nil, nil)
	if isStatus(err, http.StatusNotModified) || isStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// remove removes the container, killing it if it runs.
func (c *client) remove(ctx context.Context, id string) error {
	err := c.call(ctx, "DELETE", "/containers/"+id, url.Values{"force": {"1"}, "v": {"1"}}, nil, nil)
	if isStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// attach attaches to the container's stdin, stdout and stderr, before it
// starts: the connection is handed over by the engine (HTTP upgrade) and
// carries stdin one way and the output the other, multiplexed as by logs
// unless the container has a terminal. Reads go through the returned
// reader, which may hold bytes read with the engine's answer.
func (c *client) attach(ctx context.Context, id string) (net.Conn, io.Reader, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("Docker API at %s: %w", c.host, err)
	}
	q := url.Values{"stream": {"1"}, "stdin": {"1"}, "stdout": {"1"}, "stderr": {"1"}}
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/containers/"+id+"/attach?"+q.Encode(), nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("attach: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		conn.Close()
		return nil, nil, &apiError{Status: resp.StatusCode, Message: "attach: " + strings.TrimSpace(string(b))}
	}
	return conn, br, nil
}

// resize sets the size of the container's terminal.
func (c *client) resize(ctx context.Context, id string, width, height int) error {
	return c.call(ctx, "POST", "/containers/"+id+"/resize", url.Values{"w": {fmt.Sprint(width)}, "h": {fmt.Sprint(height)}}, nil, nil)
}

// wait waits until the container exits and returns its exit code.
func (c *client) wait(ctx context.Context, id string) (int, error) {
	var out struct{ StatusCode int }
	err := c.call(ctx, "POST", "/containers/"+id+"/wait", nil, nil, &out)
	return out.StatusCode, err
}

// listByLabel returns the IDs of the containers, running or not, that have
// label key=value.
func (c *client) listByLabel(ctx context.Context, key, value string) ([]string, error) {
	f, _ := json.Marshal(map[string][]string{"label": {key + "=" + value}})
	var out []struct {
		ID string `json:"Id"`
	}
	if err := c.call(ctx, "GET", "/containers/json", url.Values{"all": {"1"}, "filters": {string(f)}}, nil, &out); err != nil {
		return nil, err
	}
	ids := make([]string, len(out))
	for i, o := range out {
		ids[i] = o.ID
	}
	return ids, nil
}

// logs follows the container's output until it exits, copying its stdout
// and stderr to stdout and stderr.
func (c *client) logs(ctx context.Context, id string, stdout, stderr io.Writer) error {
	q := url.Values{"follow": {"1"}, "stdout": {"1"}, "stderr": {"1"}}
	resp, err := c.do(ctx, "GET", "/containers/"+id+"/logs", q, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return demux(bufio.NewReader(resp.Body), stdout, stderr)
}

// demux splits the engine's multiplexed stream: frames of an 8-byte
// header (stream, 0, 0, 0, big-endian length) and the payload.
func demux(r io.Reader, stdout, stderr io.Writer) error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		w := stdout
		if hdr[0] == 2 {
			w = stderr
		}
		if _, err := io.CopyN(w, r, int64(binary.BigEndian.Uint32(hdr[4:]))); err != nil {
			return err
		}
	}
}

// Image is what the engine says of an image.
type Image struct {
	ID     string
	Labels map[string]string
}

// InspectImage returns the ID and labels of image ref at host.
func InspectImage(ctx context.Context, host, ref string) (Image, error) {
	c, err := newClient(host)
	if err != nil {
		return Image{}, err
	}
	ic, err := c.inspectImage(ctx, ref)
	if err != nil {
		return Image{}, err
	}
	return Image{ID: ic.ID, Labels: ic.Config.Labels}, nil
}
