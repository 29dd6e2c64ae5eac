package validator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/pog"
	"github.com/sn27/sn27/internal/pogrun"
	"github.com/sn27/sn27/internal/store"
	"github.com/sn27/sn27/internal/validator"
)

func TestClaimOf(t *testing.T) {
	for _, tc := range []struct {
		name, specs string
		want        pogrun.Claim
		ok          bool
	}{
		{"no GPU", `{"gpu":{"count":0,"capacity":0,"details":[]}}`, pogrun.Claim{}, false},
		{"eight H100", `{"cpu":{"count":64},"gpu":{"count":8,"capacity":652472,"details":[` + strings.Repeat(`{"name":"NVIDIA H100 80GB HBM3","capacity":81559},`, 7) + `{"name":"NVIDIA H100 80GB HBM3","capacity":81559}]}}`,
			pogrun.Claim{Hotkey: "5M", Model: "NVIDIA H100 80GB HBM3", Count: 8, MemBytes: 81559 << 20, HostCPUs: 64}, true},
		{"mixed: the first model's GPUs", `{"gpu":{"count":2,"details":[{"name":"NVIDIA RTX 4090","capacity":24564},{"name":"NVIDIA L4","capacity":23034}]}}`,
			pogrun.Claim{Hotkey: "5M", Model: "NVIDIA RTX 4090", Count: 1, MemBytes: 24564 << 20}, true},
		{"a count larger than its details", `{"gpu":{"count":64,"details":[{"name":"X","capacity":1}]}}`, pogrun.Claim{Hotkey: "5M", Model: "X", Count: 1, MemBytes: 1 << 20}, true},
		{"not JSON", `{`, pogrun.Claim{}, false},
	} {
		got, ok := validator.ClaimOf("5M", tc.specs)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s: %+v %v; want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// nochain is a Chain the tests below never reach.
type nochain struct{ validator.Chain }

// TestPoGScoresAndFeed: under --validator.scoring pog only verified GPUs
// score; the feed serves the signed verdicts, filtered and checked.
func TestPoGScoresAndFeed(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hot := chaintest.Dev(t, "//Alice")
	d, err := dendrite.New(hot, dendrite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cfg := validator.DefaultConfig()
	cfg.Scoring = "pog"
	v, err := validator.New(cfg, validator.Deps{Hotkey: hot, Chain: nochain{}, Store: st, Dendrite: d})
	if err != nil {
		t.Fatal(err)
	}
	good, liar, old := chaintest.Dev(t, "//Bob").Hotkey(), chaintest.Dev(t, "//Charlie").Hotkey(), chaintest.Dev(t, "//Dave").Hotkey()
	add := func(h string, block uint64, passed bool, model string, gpus int) {
		vd := pog.Verdict{Version: pog.VerdictVersion, Hotkey: h, Block: block, Passed: passed, Model: model, GPUs: gpus}
		if !passed {
			vd.FailedStep = pog.StepIdentify
		}
		if err := pogrun.Sign(hot, &vd); err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(vd)
		if err := st.AddVerdict(ctx, h, block, passed, string(js)); err != nil {
			t.Fatal(err)
		}
	}
	add(string(good), 10, true, "NVIDIA H100 80GB HBM3", 8)
	add(string(liar), 10, false, "", 0)
	add(string(old), 5, true, "NVIDIA RTX 4090", 12) // passed once ...
	add(string(old), 15, false, "", 0)               // ... failed since: no credit
	ns := []chain.Neuron{{UID: 0, Hotkey: good}, {UID: 1, Hotkey: liar}, {UID: 2, Hotkey: old}}
	_, ws, err := v.Scores(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if ws[0] <= 0 || ws[1] != 0 || ws[2] != 0 {
		t.Fatalf("pog scores %v: want only the verified miner above 0", ws)
	}

	srv := httptest.NewServer(v.VerdictsHandler())
	defer srv.Close()
	get := func(q string) (int, []pog.Verdict) {
		resp, err := http.Get(srv.URL + "/v1/verdicts" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var vs []pog.Verdict
		json.NewDecoder(resp.Body).Decode(&vs)
		return resp.StatusCode, vs
	}
	if code, vs := get(""); code != 200 || len(vs) != 4 || vs[0].Hotkey != string(old) || vs[0].Block != 15 {
		t.Fatalf("all: %d %+v", code, vs)
	}
	if _, vs := get("?hotkey=" + string(old)); len(vs) != 2 {
		t.Fatalf("one miner's: %d", len(vs))
	}
	if _, vs := get("?latest=1"); len(vs) != 3 {
		t.Fatalf("latest: %d", len(vs))
	}
	code, vs := get("?hotkey=" + string(good) + "&limit=1")
	if code != 200 || len(vs) != 1 {
		t.Fatalf("limit 1: %d %d", code, len(vs))
	}
	for _, f := range []string{"hotkey", "passed", "model", "gpus", "block", "validator", "signature"} {
		resp, _ := http.Get(srv.URL + "/v1/verdicts?limit=1")
		var raw []map[string]any
		json.NewDecoder(resp.Body).Decode(&raw)
		resp.Body.Close()
		if _, ok := raw[0][f]; !ok {
			t.Errorf("a feed verdict has no %q", f)
		}
	}
	if err := pogrun.Verify(vs[0], hot.SS58()); err != nil {
		t.Fatalf("a feed verdict does not verify: %v", err)
	}
	for _, q := range []string{"?hotkey=nope", "?limit=0", "?limit=x", "?limit=100000"} {
		if code, _ := get(q); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}
