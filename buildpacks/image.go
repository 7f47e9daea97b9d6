package buildpacks

import (
	"fmt"
	"regexp"
	"strings"
)

// maxImageRef bounds an image reference, as the registries do.
const maxImageRef = 255

var (
	imageRefRE = func() *regexp.Regexp {
		dc := `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		domain := dc + `(?:\.` + dc + `)*(?::[0-9]{1,5})?`
		comp := `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
		name := `(?:` + domain + `/)?` + comp + `(?:/` + comp + `)*`
		return regexp.MustCompile(`^(` + name + `)(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`)
	}()
	imageIDRE = regexp.MustCompile(`^(?:sha256|[a-f0-9]{12,64})$`)
)

// nuaImages are the repositories of the images nua's own builds make: an
// app's build (nua-build/...) and its releases (nua/APP).
var nuaImages = []string{"nua-build", "nua"}

// CheckImageRef checks that ref names an image by repository (and tag or
// digest) the way an operator writes it, e.g.
// paketobuildpacks/builder-jammy-base:0.4: not an image ID (which could be
// any image, an app's too), and not an image nua's own builds make (an
// app's build or release image), which its app's code wrote.
func CheckImageRef(ref string) error {
	if len(ref) == 0 || len(ref) > maxImageRef {
		return fmt.Errorf("%w: give an image name of 1 to %d characters, e.g. paketobuildpacks/builder-jammy-base:latest", ErrImageRef, maxImageRef)
	}
	m := imageRefRE.FindStringSubmatch(ref)
	if m == nil {
		return fmt.Errorf("%w: %q is not an image name: write REPOSITORY[:TAG][@sha256:DIGEST], e.g. paketobuildpacks/builder-jammy-base:latest", ErrImageRef, clip(ref))
	}
	name := m[1]
	if imageIDRE.MatchString(name) {
		return fmt.Errorf("%w: %q looks like an image ID: name the image by its repository and tag", ErrImageRef, clip(ref))
	}
	if repo := localRepo(name); repo != "" {
		for _, own := range nuaImages {
			if repo == own || strings.HasPrefix(repo, own+"/") {
				return fmt.Errorf("%w: %s is an image nua's builds make from an app's code: it can never be trusted as a builder", ErrImageRef, ref)
			}
		}
	}
	return nil
}

// localRepo is the repository part of name when name is an image of the
// engine's own or of Docker Hub (where nua's builds tag theirs), without
// its domain and library/ prefix; "" for another registry's.
func localRepo(name string) string {
	first, rest, hasDomain := strings.Cut(name, "/")
	if !hasDomain || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return strings.TrimPrefix(name, "library/")
	}
	switch first {
	case "localhost", "docker.io", "index.docker.io", "registry-1.docker.io":
		return strings.TrimPrefix(rest, "library/")
	}
	if strings.HasPrefix(first, "localhost:") {
		return strings.TrimPrefix(rest, "library/")
	}
	return ""
}
