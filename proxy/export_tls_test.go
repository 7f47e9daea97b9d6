package proxy

// RenderTLS exposes the rendering of routes served over HTTPS on port,
// issued telling which hosts have an ACME certificate.
func RenderTLS(r Route, port int, issued func(host string) bool) ([]byte, error) {
	return render(r, &tlsView{port: port, issued: issued})
}

// StaticYAMLFor exposes the static configuration with HTTPS.
var StaticYAMLFor = staticYAMLFor
