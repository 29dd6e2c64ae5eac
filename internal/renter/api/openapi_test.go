package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestOpenAPI(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := e.p.httpClient(nil).Get(e.ts.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	served, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served, OpenAPI()) {
		t.Error("GET /openapi.json differs from OpenAPI() (what releases publish and internal/apiclient is generated from)")
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			License struct{ Name string } `json:"license"`
		} `json:"info"`
		Servers []struct{ URL string }    `json:"servers"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(served, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	if doc.Info.License.Name != "Proprietary" { // as packaging/nfpm.yaml says
		t.Errorf("license = %q; want Proprietary", doc.Info.License.Name)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://127.0.0.1:8903" {
		t.Errorf("servers = %+v; want https://127.0.0.1:8903 (the default --api.addr)", doc.Servers)
	}
	// Every operation has a unique camelCase operationId (the method
	// names of generated clients) and a 4XX answer.
	idRE := regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	seen := map[string]string{}
	for path, item := range doc.Paths {
		for method, v := range item {
			op, _ := v.(map[string]any)
			id, _ := op["operationId"].(string)
			if !idRE.MatchString(id) {
				t.Errorf("%s %s: operationId %q; want camelCase", method, path, id)
			} else if prev, dup := seen[id]; dup {
				t.Errorf("operationId %s: both %s and %s %s", id, prev, method, path)
			}
			seen[id] = method + " " + path
			responses, _ := op["responses"].(map[string]any)
			has4xx := false
			for code := range responses {
				has4xx = has4xx || strings.HasPrefix(code, "4")
			}
			if !has4xx {
				t.Errorf("%s %s documents no 4XX answer", method, path)
			}
		}
	}
	if len(operationIDs) != len(seen) {
		t.Errorf("operationIDs names %d operations; the document has %d (remove stale entries)", len(operationIDs), len(seen))
	}
	want := []string{"/service/allocate_spec", "/service/allocate_hotkey", "/service/deallocate", "/service/check_miner_status",
		"/service/restart_docker", "/service/pause_docker", "/service/unpause_docker", "/service/exchange_docker_key",
		"/list/allocations_sql", "/list/resources_sql", "/list/count_all_gpus", "/list/count_all_by_model", "/list/available",
		"/list/allocated_hotkeys"}
	for _, p := range want {
		post, ok := doc.Paths[p]["post"].(map[string]any)
		if !ok {
			t.Errorf("openapi.json lacks POST %s", p)
			continue
		}
		responses, _ := post["responses"].(map[string]any)
		for _, code := range []string{"200", "400", "401", "404", "409", "413", "422", "500"} {
			if _, ok := responses[code]; !ok {
				t.Errorf("POST %s does not document %s", p, code)
			}
		}
	}
	// Error codes a renter may meet are documented.
	raw, _ := json.Marshal(doc.Paths["/service/allocate_hotkey"])
	for _, code := range []string{"no_match", "unknown_hotkey", "not_allocated", "already_allocated", "refused",
		"invalid_request", "idempotency_key_reused"} {
		if !strings.Contains(string(raw), code) {
			t.Errorf("allocate_hotkey does not document %s", code)
		}
	}
	// So is the paused status.
	for _, p := range []string{"/service/check_miner_status", "/list/allocations_sql"} {
		raw, _ := json.Marshal(doc.Paths[p])
		if !strings.Contains(string(raw), `"paused"`) {
			t.Errorf("%s does not document the paused status", p)
		}
	}
	for _, p := range []string{"/healthz", "/openapi.json"} {
		if _, ok := doc.Paths[p]["get"]; !ok {
			t.Errorf("openapi.json lacks GET %s", p)
		}
	}
	if len(doc.Paths) != len(want)+2 {
		t.Errorf("openapi.json has %d paths; want %d", len(doc.Paths), len(want)+2)
	}
	r, err := e.p.httpClient(nil).Get(e.ts.URL + "/healthz")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("healthz = %v %v", r, err)
	}
	r.Body.Close()
}
