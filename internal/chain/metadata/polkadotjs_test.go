package metadata

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/polkadotjs"
	"github.com/sn27/sn27/internal/scale"
)

var hasherNames = map[scale.Hasher]string{
	scale.Blake2_128Hasher: "Blake2_128", scale.Blake2_256Hasher: "Blake2_256", scale.Blake2_128Concat: "Blake2_128Concat",
	scale.Twox128Hasher: "Twox128", scale.Twox256Hasher: "Twox256", scale.Twox64Concat: "Twox64Concat", scale.Identity: "Identity",
}

func fieldList(fs []Field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s:%d", f.Name, f.Type)
	}
	return strings.Join(parts, ",")
}

func deprecationText(d Deprecation) string {
	if d.Note == "" {
		return "DeprecatedWithoutNote"
	}
	return "Deprecated:" + d.Note
}

// summaryLines writes what m holds in the line format of
// internal/polkadotjs/metadata.cjs.
func summaryLines(m *Metadata) []string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	v16 := m.Version >= 16
	for i := range m.pallets {
		p := &m.pallets[i]
		if p.hasCalls {
			for _, v := range m.types[p.calls].variants {
				add("call %s.%s %d %d %s", p.name, v.name, p.index, v.index, fieldList(v.fields))
				if d := p.callDepr[v.index]; d.Deprecated {
					add("deprecated call %s.%s %s", p.name, v.name, deprecationText(d))
				}
			}
		}
		for _, k := range []struct {
			kind string
			has  bool
			ty   TypeID
		}{{"event", p.hasEvent, p.event}, {"error", p.hasError, p.errType}} {
			if k.has {
				for _, v := range m.types[k.ty].variants {
					add("%s %s.%s %d %d", k.kind, p.name, v.name, p.index, v.index)
				}
			}
		}
		for _, e := range p.storage {
			mod := "Default"
			if e.Optional {
				mod = "Optional"
			}
			shape := fmt.Sprintf("Plain - %d", e.Value)
			if len(e.Hashers) > 0 {
				hs := make([]string, len(e.Hashers))
				for i, h := range e.Hashers {
					hs[i] = hasherNames[h]
				}
				shape = fmt.Sprintf("%s %d %d", strings.Join(hs, ","), e.keyType, e.Value)
			}
			add("storage %s.%s %s %s 0x%x", p.name, e.Name, mod, shape, e.Default)
			if e.Deprecation.Deprecated {
				add("deprecated storage %s.%s %s", p.name, e.Name, deprecationText(e.Deprecation))
			}
		}
		for _, c := range p.constants {
			add("constant %s.%s %d 0x%x", p.name, c.name, c.ty, c.value)
		}
		if v16 {
			if p.deprecation.Deprecated {
				add("deprecated pallet %s %s", p.name, deprecationText(p.deprecation))
			}
			for _, a := range p.assocTypes {
				add("associated_type %s.%s %d", p.name, a.name, a.ty)
			}
			for _, f := range p.viewFns {
				add("view_function %s.%s 0x%x %s %d", p.name, f.name, f.id, fieldList(f.inputs), f.output)
			}
		}
	}
	exts := m.signedExts
	if v16 {
		exts = m.txExts
	}
	for _, x := range exts {
		add("extension %s %d %d", x.Identifier, x.Type, x.AdditionalSigned)
	}
	vs := make([]string, len(m.extrinsicVersions))
	for i, v := range m.extrinsicVersions {
		vs[i] = fmt.Sprint(v)
	}
	add("extrinsic_versions %s", strings.Join(vs, ","))
	for v, idx := range m.txExtsByVers {
		is := make([]string, len(idx))
		for i, x := range idx {
			is[i] = fmt.Sprint(x)
		}
		add("extensions_by_version %d %s", v, strings.Join(is, ","))
	}
	for trait, methods := range m.apis {
		for name, am := range methods {
			add("api %s.%s %s %d", trait, name, fieldList(am.inputs), am.output)
		}
		if v, ok := m.apiVersions[trait]; ok {
			add("api_version %s %d", trait, v)
		}
	}
	return lines
}

// TestFixturesAgainstPolkadotJS decodes every fixture with the pinned
// @polkadot/types (16.5.6) too and compares everything both read: each
// call (pallet and call index, argument names and types), event, error,
// storage item (modifier, hashers, key and value types, default), constant
// (type and value), signed/transaction extension (in order, with both
// types), extrinsic versions, V16 extensions by version, runtime API
// method (inputs, output) and, for V16, API versions, associated types,
// view functions and deprecations. polkadot.js reads V16 itself, so this
// checks our V16 decoder against an independent one.
func TestFixturesAgainstPolkadotJS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node with polkadot.js; skipped with -short")
	}
	var raws [][]byte
	for _, fx := range subtensorFixtures {
		raw := fx.raw(t)
		if fx.option {
			d := scale.NewDecoder(raw)
			d.Option()
			raw = d.Bytes()
		}
		raws = append(raws, raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sums, err := polkadotjs.SummarizeMetadata(ctx, raws...)
	if err != nil {
		t.Fatal(err)
	}
	for i, fx := range subtensorFixtures {
		t.Run(fx.name(), func(t *testing.T) {
			m, s := fx.load(t), sums[i]
			if s.Version != fx.version || !s.RoundTrip {
				t.Errorf("polkadot.js: V%d, round trip %v", s.Version, s.RoundTrip)
			}
			ours := summaryLines(m)
			extOrder := func(lines []string) []string {
				var out []string
				for _, l := range lines {
					if strings.HasPrefix(l, "extension ") {
						out = append(out, l)
					}
				}
				return out
			}
			if a, b := extOrder(ours), extOrder(s.Lines); !slices.Equal(a, b) {
				t.Errorf("extensions\n ours %q\n polkadot.js %q", a, b)
			}
			slices.Sort(ours)
			theirs := slices.Clone(s.Lines)
			slices.Sort(theirs)
			if len(ours) < 800 {
				t.Errorf("only %d lines", len(ours))
			}
			var onlyOurs, onlyTheirs []string
			for a, b := 0, 0; a < len(ours) || b < len(theirs); {
				switch {
				case b == len(theirs) || (a < len(ours) && ours[a] < theirs[b]):
					onlyOurs = append(onlyOurs, ours[a])
					a++
				case a == len(ours) || theirs[b] < ours[a]:
					onlyTheirs = append(onlyTheirs, theirs[b])
					b++
				default:
					a++
					b++
				}
			}
			for _, l := range onlyOurs[:min(len(onlyOurs), 10)] {
				t.Errorf("only ours: %s", l)
			}
			for _, l := range onlyTheirs[:min(len(onlyTheirs), 10)] {
				t.Errorf("only polkadot.js: %s", l)
			}
			if n := len(onlyOurs) + len(onlyTheirs); n > 20 {
				t.Errorf("%d differences in all", n)
			}
		})
	}
}
