package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Source is where releases are read: an http(s) base URL or a local
// directory, holding manifest.json, manifest.json.minisig and the files
// the manifest names.
type Source struct {
	base *url.URL // http or https, path ending in "/"; nil for a directory
	dir  string
}

// ParseSource parses s: "https://host/path", "http://host/path",
// "file:///dir" or a directory path. "" is ErrNoSource.
func ParseSource(s string) (Source, error) {
	if s == "" {
		return Source{}, ErrNoSource
	}
	scheme, _, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		return Source{dir: filepath.Clean(s)}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Source{}, fmt.Errorf("update source %q: %w", s, err)
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		if u.Host == "" {
			return Source{}, fmt.Errorf("update source %q: no host", s)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return Source{}, fmt.Errorf("update source %q: want a plain base URL (no user, query or fragment)", s)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
			u.RawPath = ""
		}
		return Source{base: u}, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return Source{}, fmt.Errorf("update source %q: a file URL names a local directory (file:///path)", s)
		}
		if u.Path == "" {
			return Source{}, fmt.Errorf("update source %q: no path", s)
		}
		return Source{dir: filepath.Clean(filepath.FromSlash(u.Path))}, nil
	}
	return Source{}, fmt.Errorf("update source %q: want an http(s) URL, a file:// URL or a directory", s)
}

// String is the source as the operator would write it.
func (s Source) String() string {
	if s.base != nil {
		return s.base.String()
	}
	return s.dir
}

// open opens the release file name and returns its length (-1 unknown).
func (s Source) open(ctx context.Context, client *http.Client, name string) (io.ReadCloser, int64, error) {
	if s.base == nil {
		if s.dir == "" {
			return nil, 0, ErrNoSource
		}
		f, err := os.Open(filepath.Join(s.dir, name))
		if err != nil {
			return nil, 0, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		if !st.Mode().IsRegular() {
			f.Close()
			return nil, 0, fmt.Errorf("%s: not a regular file", f.Name())
		}
		return f, st.Size(), nil
	}
	u := s.base.ResolveReference(&url.URL{Path: name})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return resp.Body, resp.ContentLength, nil
}

// fetch reads the release file name, at most limit bytes (more: ErrTooLarge).
func (s Source) fetch(ctx context.Context, client *http.Client, name string, limit int64) ([]byte, error) {
	r, n, err := s.open(ctx, client, name)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", name, err)
	}
	defer r.Close()
	if n > limit {
		return nil, fmt.Errorf("fetch %s: %w: %d bytes, at most %d", name, ErrTooLarge, n, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = ErrTruncated
		}
		return nil, fmt.Errorf("fetch %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("fetch %s: %w: more than %d bytes", name, ErrTooLarge, limit)
	}
	return b, nil
}
