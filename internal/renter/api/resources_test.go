package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// verdictResources are a verified, a failed and a never proved miner, and
// an allocated verified one.
func verdictResources() []Resource {
	return []Resource{
		{Hotkey: hk1, GPUName: "NVIDIA H100 80GB HBM3", GPUCount: 8, Verified: true, VerifiedModel: "NVIDIA H100 80GB HBM3",
			VerifiedGPUs: 8, VerdictAge: 180, VerdictBlock: 100},
		{Hotkey: hk2, GPUName: "NVIDIA H100 80GB HBM3", GPUCount: 8, VerdictAge: 30, VerdictBlock: 110, VerdictFailedStep: "work"},
		{Hotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", GPUName: "PoCL CPU", GPUCount: 1, VerdictAge: -1},
		{Hotkey: "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y", GPUName: "PoCL CPU", GPUCount: 1, Allocated: true,
			Verified: true, VerifiedModel: "PoCL CPU", VerifiedGPUs: 1, VerdictAge: 5, VerdictBlock: 120},
	}
}

func TestListResourcesVerdictFilter(t *testing.T) {
	e := newEnv(t, nil)
	e.ops.resources = verdictResources()
	rs := e.ops.resources
	c := e.p.httpClient(&e.p.client)
	tests := []struct {
		name, path string
		want       []string // hotkeys, in order
	}{
		{"all", "/list/resources_sql", []string{rs[0].Hotkey, rs[1].Hotkey, rs[2].Hotkey, rs[3].Hotkey}},
		{"verified", "/list/resources_sql?verified=true", []string{rs[0].Hotkey, rs[3].Hotkey}},
		{"verified=1", "/list/resources_sql?verified=1", []string{rs[0].Hotkey, rs[3].Hotkey}},
		{"verified=false filters nothing", "/list/resources_sql?verified=false", []string{rs[0].Hotkey, rs[1].Hotkey, rs[2].Hotkey, rs[3].Hotkey}},
		{"model, any case", "/list/resources_sql?verified_model=pocl+cpu", []string{rs[3].Hotkey}},
		{"model with verified", "/list/resources_sql?verified=true&verified_model=NVIDIA%20H100%2080GB%20HBM3", []string{rs[0].Hotkey}},
		{"model nobody has", "/list/resources_sql?verified_model=NVIDIA+B200", []string{}},
		{"available verified", "/list/available?verified=true", []string{rs[0].Hotkey}},
		{"available by model", "/list/available?verified_model=PoCL%20CPU", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, c, tt.path, "", nil)
			if r.status != 200 {
				t.Fatalf("got %d %s; want 200", r.status, r.body)
			}
			var got resourcesResponse
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			hks := []string{}
			for _, it := range got.Resources {
				hks = append(hks, it.Hotkey)
			}
			if !slices.Equal(hks, tt.want) {
				t.Errorf("hotkeys %v; want %v", hks, tt.want)
			}
		})
	}
}

func TestListResourcesVerdictFields(t *testing.T) {
	e := newEnv(t, nil)
	e.ops.resources = verdictResources()
	r := e.post(t, e.p.httpClient(&e.p.client), "/list/resources_sql", "{}", nil)
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	var got struct {
		Resources []map[string]any `json:"resources"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil || len(got.Resources) != 4 {
		t.Fatalf("%v: %s", err, r.body)
	}
	want := []map[string]any{
		{"verified": true, "verified_model": "NVIDIA H100 80GB HBM3", "verified_gpus": 8.0, "verdict_age_s": 180.0, "verdict_block": 100.0},
		{"verified": false, "verdict_age_s": 30.0, "verdict_block": 110.0, "verdict_failed_step": "work"},
		{"verified": false, "verdict_age_s": -1.0},
	}
	absent := [][]string{
		{"verdict_failed_step"},
		{"verified_model", "verified_gpus"},
		{"verified_model", "verified_gpus", "verdict_block", "verdict_failed_step"},
	}
	for i, w := range want {
		for k, v := range w {
			if got.Resources[i][k] != v {
				t.Errorf("resource %d: %s = %v; want %v", i, k, got.Resources[i][k], v)
			}
		}
		for _, k := range absent[i] {
			if v, ok := got.Resources[i][k]; ok {
				t.Errorf("resource %d: %s = %v; want it absent", i, k, v)
			}
		}
	}
}

func TestListResourcesBadParams(t *testing.T) {
	e := newEnv(t, nil)
	e.ops.resources = verdictResources()
	c := e.p.httpClient(&e.p.client)
	tests := []struct{ name, path, msg string }{
		{"not a bool", "/list/resources_sql?verified=yes", `verified: want true or false, not "yes"`},
		{"empty verified", "/list/available?verified=", "verified: want true or false"},
		{"twice", "/list/resources_sql?verified=true&verified=true", "verified: given more than once"},
		{"empty model", "/list/resources_sql?verified_model=", "verified_model: want a model name"},
		{"blank model", "/list/available?verified_model=%20%20", "verified_model: want a model name"},
		{"model too long", "/list/resources_sql?verified_model=" + strings.Repeat("a", maxGPUType+1), "verified_model: want a model name"},
		{"model not printable", "/list/resources_sql?verified_model=a%0Ab", "verified_model: want a model name"},
		{"model with verified=false", "/list/resources_sql?verified=false&verified_model=PoCL+CPU", "verified_model: needs verified=true"},
		{"unknown parameter", "/list/resources_sql?verifed=true", "verifed: unknown query parameter"},
		{"bad escape", "/list/available?verified=%zz", "the query string does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, c, tt.path, "", nil)
			if r.status != 400 || r.errCode(t) != "invalid_parameter" {
				t.Fatalf("got %d %s; want 400 invalid_parameter", r.status, r.body)
			}
			var body apiError
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(body.Error.Message, tt.msg) {
				t.Errorf("message %q; want it to contain %q", body.Error.Message, tt.msg)
			}
		})
	}
	if n := e.ops.count("resources"); n != 0 {
		t.Errorf("Resources called %d times for bad queries; want 0", n)
	}
}

func TestOpenAPIDocumentsVerdicts(t *testing.T) {
	doc := openAPI()
	paths := doc["paths"].(obj)
	for _, p := range []string{"/list/resources_sql", "/list/available"} {
		op := paths[p].(obj)["post"].(obj)
		params, _ := op["parameters"].([]obj)
		var names []string
		for _, pr := range params {
			if pr["in"] == "query" {
				names = append(names, pr["name"].(string))
			}
		}
		if !slices.Equal(names, []string{"verified", "verified_model"}) {
			t.Errorf("%s documents query parameters %v; want verified, verified_model", p, names)
		}
		raw, _ := json.Marshal(op)
		for _, f := range []string{`"verified"`, `"verified_model"`, `"verified_gpus"`, `"verdict_age_s"`, `"verdict_block"`, `"verdict_failed_step"`, "invalid_parameter"} {
			if !strings.Contains(string(raw), f) {
				t.Errorf("%s does not document %s", p, f)
			}
		}
	}
	// Every field of an item is in the schema (it forbids additional ones).
	items := resourcesSchema["properties"].(obj)["resources"].(obj)["items"].(obj)["properties"].(obj)
	b, _ := json.Marshal(toResourceItem(verdictResources()[1]))
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	fields["verified_model"], fields["verified_gpus"] = "", 0
	for k := range fields {
		if _, ok := items[k]; !ok {
			t.Errorf("resource field %s is not in the OpenAPI schema", k)
		}
	}
}
