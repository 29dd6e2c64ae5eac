package protocol

import (
	"fmt"
	"strconv"
	"strings"
)

// Header name prefixes of TerminalInfo fields.
const (
	AxonHeaderPrefix     = "bt_header_axon_"
	DendriteHeaderPrefix = "bt_header_dendrite_"
)

// terminalHeaders renders the set fields of t as Python's str(v) would.
func terminalHeaders(h map[string]string, prefix string, t *TerminalInfo) {
	putInt := func(name string, v Int) {
		if v.Set {
			h[prefix+name] = strconv.FormatInt(v.V, 10)
		}
	}
	putStr := func(name string, v *string) {
		if v != nil {
			h[prefix+name] = *v
		}
	}
	putInt("status_code", t.StatusCode)
	putStr("status_message", t.StatusMessage)
	if t.ProcessTime.Set {
		h[prefix+"process_time"] = PyFloat(t.ProcessTime.V)
	}
	putStr("ip", t.IP)
	putInt("port", t.Port)
	putInt("version", t.Version)
	putInt("nonce", t.Nonce)
	putStr("uuid", t.UUID)
	putStr("hotkey", t.Hotkey)
	putStr("signature", t.Signature)
}

// ToHeaders renders s as bittensor's Synapse.to_headers does (header names
// lower case). SN27's synapses have no required fields, so no
// bt_header_input_obj_* headers.
func ToHeaders(s *Synapse) map[string]string {
	h := map[string]string{"name": s.Name}
	timeout := s.Timeout
	if !timeout.Set {
		timeout = SomeFloat(DefaultTimeout)
	}
	h["timeout"] = PyFloat(timeout.V)
	terminalHeaders(h, AxonHeaderPrefix, &s.Axon)
	terminalHeaders(h, DendriteHeaderPrefix, &s.Dendrite)
	h["header_size"] = strconv.FormatInt(s.HeaderSize.V, 10)
	h["total_size"] = strconv.FormatInt(s.TotalSize.V, 10)
	h["computed_body_hash"] = s.ComputedBodyHash
	return h
}

// HeaderError is a malformed header.
type HeaderError struct {
	Name, Reason string
}

func (e *HeaderError) Error() string { return "header " + e.Name + ": " + e.Reason }

// MaxHeaderValue bounds a header value we parse.
const MaxHeaderValue = 8 << 10

// ParseHeaders rebuilds the Synapse metadata from request or response
// headers, as bittensor's Synapse.from_headers does. Header names are
// matched without regard to case (Go and Starlette canonicalise them).
func ParseHeaders(h map[string][]string) (Synapse, error) {
	var s Synapse
	for rawName, vals := range h {
		if len(vals) == 0 {
			continue
		}
		name := strings.ToLower(rawName)
		val := vals[0]
		if len(val) > MaxHeaderValue {
			return s, &HeaderError{name, fmt.Sprintf("longer than %d bytes", MaxHeaderValue)}
		}
		var err error
		switch {
		case strings.HasPrefix(name, AxonHeaderPrefix):
			err = setTerminal(&s.Axon, name[len(AxonHeaderPrefix):], val)
		case strings.HasPrefix(name, DendriteHeaderPrefix):
			err = setTerminal(&s.Dendrite, name[len(DendriteHeaderPrefix):], val)
		case name == "name":
			s.Name = val
		case name == "timeout":
			var f Float
			if err = f.UnmarshalJSON([]byte(strconv.Quote(val))); err == nil {
				s.Timeout = f
			}
		case name == "header_size":
			s.HeaderSize, err = intHeader(val)
		case name == "total_size":
			s.TotalSize, err = intHeader(val)
		case name == "computed_body_hash":
			s.ComputedBodyHash = val
		}
		if err != nil {
			return s, &HeaderError{name, err.Error()}
		}
	}
	return s, nil
}

func intHeader(v string) (Int, error) {
	n, err := ParseInt(v)
	if err != nil {
		return Int{}, err
	}
	return SomeInt(n), nil
}

func setTerminal(t *TerminalInfo, field, v string) error {
	var err error
	switch field {
	case "status_code":
		t.StatusCode, err = intHeader(v)
	case "status_message":
		t.StatusMessage = Str(v)
	case "process_time":
		var f Float
		if err = f.UnmarshalJSON([]byte(strconv.Quote(v))); err == nil {
			t.ProcessTime = f
		}
	case "ip":
		t.IP = Str(v)
	case "port":
		t.Port, err = intHeader(v)
	case "version":
		t.Version, err = intHeader(v)
	case "nonce":
		t.Nonce, err = intHeader(v)
	case "uuid":
		t.UUID = Str(v)
	case "hotkey":
		t.Hotkey = Str(v)
	case "signature":
		t.Signature = Str(v)
	}
	return err
}

// SignedMessage is the text a dendrite signs and an axon verifies:
// "{nonce}.{dendrite hotkey}.{axon hotkey}.{uuid}.{body hash}".
func SignedMessage(nonce int64, dendriteHotkey, axonHotkey, uuid, bodyHash string) string {
	return strconv.FormatInt(nonce, 10) + "." + dendriteHotkey + "." + axonHotkey + "." + uuid + "." + bodyHash
}
