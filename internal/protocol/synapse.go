package protocol

import (
	"bytes"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Int is an optional integer that renders as JSON null when unset and
// decodes from a JSON number, a numeric string (Python's str(int)) or null.
type Int struct {
	V   int64
	Set bool
}

// SomeInt returns a set Int.
func SomeInt(v int64) Int { return Int{V: v, Set: true} }

// MarshalJSON renders the value or null.
func (i Int) MarshalJSON() ([]byte, error) {
	if !i.Set {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, i.V, 10), nil
}

// UnmarshalJSON accepts a number, a numeric string or null.
func (i *Int) UnmarshalJSON(b []byte) error {
	*i = Int{}
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	v, err := ParseInt(s)
	if err != nil {
		return err
	}
	*i = SomeInt(v)
	return nil
}

// ParseInt parses as Python's int(str) does for the values we meet: an
// optionally signed decimal, surrounding spaces allowed. A float literal with
// an integral value (JSON "200.0") is accepted too.
func ParseInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err == nil {
		return v, nil
	}
	if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f), nil
	}
	return 0, fmt.Errorf("not an integer: %q", truncate(s))
}

// Float is an optional float with the same JSON rules as Int.
type Float struct {
	V   float64
	Set bool
}

// SomeFloat returns a set Float.
func SomeFloat(v float64) Float { return Float{V: v, Set: true} }

// MarshalJSON renders the value or null.
func (f Float) MarshalJSON() ([]byte, error) {
	if !f.Set || math.IsNaN(f.V) || math.IsInf(f.V, 0) {
		return []byte("null"), nil
	}
	return []byte(PyFloat(f.V)), nil
}

// UnmarshalJSON accepts a number, a numeric string or null.
func (f *Float) UnmarshalJSON(b []byte) error {
	*f = Float{}
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("not a finite number: %q", truncate(s))
	}
	*f = SomeFloat(v)
	return nil
}

// PyFloat formats f as Python's repr(float) does: "12.0", "0.1", "1e+16".
func PyFloat(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	if exp < -4 || exp >= 16 {
		s := strconv.FormatFloat(f, 'e', -1, 64) // 1e+16, 1.5e-05
		mant, e, _ := strings.Cut(s, "e")
		sign := e[:1]
		digits := strings.TrimLeft(e[1:], "0")
		if len(digits) < 2 {
			digits = fmt.Sprintf("%02s", digits)
		}
		return mant + "e" + sign + digits
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// TerminalInfo describes one end of a call (bittensor TerminalInfo); field
// order is the wire order.
type TerminalInfo struct {
	StatusCode    Int     `json:"status_code"`
	StatusMessage *string `json:"status_message"`
	ProcessTime   Float   `json:"process_time"`
	IP            *string `json:"ip"`
	Port          Int     `json:"port"`
	Version       Int     `json:"version"`
	Nonce         Int     `json:"nonce"`
	UUID          *string `json:"uuid"`
	Hotkey        *string `json:"hotkey"`
	Signature     *string `json:"signature"`
}

// Str returns a pointer to s, for the optional string fields.
func Str(s string) *string { return &s }

// Deref returns *p or "".
func Deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Synapse is the common part of every request (bittensor Synapse).
type Synapse struct {
	Name             string       `json:"name"`
	Timeout          Float        `json:"timeout"`
	TotalSize        Int          `json:"total_size"`
	HeaderSize       Int          `json:"header_size"`
	Dendrite         TerminalInfo `json:"dendrite"`
	Axon             TerminalInfo `json:"axon"`
	ComputedBodyHash string       `json:"computed_body_hash"`
}

// DefaultTimeout is bittensor's default synapse timeout in seconds.
const DefaultTimeout = 12.0

func newSynapse(name string) Synapse {
	return Synapse{Name: name, Timeout: SomeFloat(DefaultTimeout), TotalSize: SomeInt(0), HeaderSize: SomeInt(0)}
}

// Base returns the common part; it makes every synapse a Message.
func (s *Synapse) Base() *Synapse { return s }

// Message is a synapse type: the common part plus its own fields.
type Message interface {
	Base() *Synapse
	// SynapseName is the class name, also the axon route ("/Challenge").
	SynapseName() string
}

// EmptyBodyHash is sha3-256("") in hex: the body hash of every synapse
// without required_hash_fields, which includes all of SN27's.
var EmptyBodyHash = BodyHashOf()

// BodyHashOf returns bittensor's body hash of the given field strings:
// sha3-256 of the concatenated sha3-256 hex digests of each str(field).
func BodyHashOf(fields ...string) string {
	var all strings.Builder
	for _, f := range fields {
		h := sha3.Sum256([]byte(f))
		all.WriteString(hex.EncodeToString(h[:]))
	}
	h := sha3.Sum256([]byte(all.String()))
	return hex.EncodeToString(h[:])
}

// BodyHash returns the body hash of m. SN27's synapses declare no
// required_hash_fields, so it is EmptyBodyHash.
func BodyHash(m Message) string { return EmptyBodyHash }

// ---- JSON with unknown fields kept ----

// Extra holds JSON fields a synapse does not know, so a message passes
// through without losing them.
type Extra map[string]json.RawMessage

var knownFields sync.Map // reflect.Type -> map[string]bool

func known(t reflect.Type) map[string]bool {
	if v, ok := knownFields.Load(t); ok {
		return v.(map[string]bool)
	}
	m := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				m[name] = true
			}
		}
	}
	walk(t)
	knownFields.Store(t, m)
	return m
}

// MaxFieldCount bounds the number of top-level JSON fields accepted.
const MaxFieldCount = 256

// decodeWithExtra decodes data into v (a pointer to a struct alias without
// methods) and returns the fields v does not declare.
func decodeWithExtra(data []byte, v any) (Extra, error) {
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	if len(all) > MaxFieldCount {
		return nil, fmt.Errorf("%d fields: more than %d", len(all), MaxFieldCount)
	}
	k := known(reflect.TypeOf(v).Elem())
	var extra Extra
	for name, raw := range all {
		if !k[name] {
			if extra == nil {
				extra = Extra{}
			}
			extra[name] = raw
		}
	}
	return extra, nil
}

// encodeWithExtra renders v and appends the extra fields (sorted by name).
func encodeWithExtra(v any, extra Extra) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	if len(extra) == 0 {
		return b, nil
	}
	names := make([]string, 0, len(extra))
	for n := range extra {
		names = append(names, n)
	}
	slices.Sort(names)
	out := append([]byte{}, b[:len(b)-1]...) // drop '}'
	for _, n := range names {
		key, _ := json.Marshal(n)
		out = append(out, ',')
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, extra[n]...)
	}
	return append(out, '}'), nil
}

// checkObject reports an error unless raw is a JSON object (a Python dict).
func checkObject(field string, raw json.RawMessage) error {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%s: want a JSON object, got %s", field, truncate(string(t)))
	}
	return nil
}
