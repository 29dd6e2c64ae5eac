package layers

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/sn27/sn27"

// Layer of each top-level internal package. A package imports only packages
// of a lower layer; leaves import nothing internal. Unlisted packages fail
// the test, so a new package must be placed here.
var layer = map[string]int{
	// leaves: protocol types and pure logic
	"protocol": 0, "keys": 0, "scale": 0, "pow": 0, "scoring": 0, "layers": 0, "priority": 0, "pog": 0, "buildinfo": 0, "release": 0,
	// adapters
	"chain": 1, "axon": 1, "dendrite": 1, "hwspec": 1, "hashcat": 1, "opencl": 1, "docker": 1, "store": 1, "wallet": 1, "polkadotjs": 1, "timelock": 1, "update": 1,
	"apiclient": 1, // the renter API client generated from its OpenAPI document
	// tools built on adapters
	"bench": 2, "allocation": 2, "rental": 2, "pogrun": 2,
	// daemons
	"miner": 3, "validator": 3, "renter": 3, "dashboard": 3,
	// devnet composes daemons
	"devnet": 4,
	// the binary
	"cmd": 5,
	// build tools (make release), never linked into sn27
	"tools":     5,
	"packaging": 5, // the container image's test (packaging/docker)
}

type pkg struct {
	ImportPath string
	Imports    []string
	Doc        string
	GoFiles    []string
	Dir        string
}

// top returns the top-level name of an internal package ("chain" for
// internal/chain/devchain) or "cmd" for commands.
func top(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return "", false
	}
	if strings.HasPrefix(rest, "cmd/") {
		return "cmd", true
	}
	rest = strings.TrimPrefix(rest, "internal/")
	name, _, _ := strings.Cut(rest, "/")
	return name, true
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 3 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func TestImportLayers(t *testing.T) {
	for _, p := range listPackages(t) {
		from, _ := top(p.ImportPath)
		lf, ok := layer[from]
		if !ok {
			t.Errorf("package %s is not placed in a layer (edit layers_test.go)", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			to, internal := top(imp)
			if !internal || to == from {
				continue
			}
			lt, ok := layer[to]
			if !ok {
				continue // reported on its own
			}
			if lf == 0 || lt >= lf {
				t.Errorf("%s (layer %d) imports %s (layer %d): a package imports only lower layers, leaves nothing internal", p.ImportPath, lf, imp, lt)
			}
		}
	}
}

func TestOnePackageDoc(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.Doc == "" {
			t.Errorf("package %s has no package comment", p.ImportPath)
		}
		n := 0
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc != nil {
				n++
			}
		}
		if n > 1 {
			t.Errorf("package %s has %d files with a package comment; want 1", p.ImportPath, n)
		}
	}
}
