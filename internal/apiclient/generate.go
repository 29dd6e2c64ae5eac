package apiclient

// The client is generated with oapi-codegen (the go tool pinned in go.mod)
// from openapi.json, a committed copy of the document `sn27 api` serves at
// /openapi.json (api.OpenAPI), indented. After changing the API, refresh
// both with
//
//	go generate ./internal/apiclient
//
// TestSpecUpToDate and TestGeneratedClientUpToDate fail until then.

//go:generate go test -run ^TestSpecUpToDate$ -update .
//go:generate go tool oapi-codegen -config oapi-codegen.yaml -o client.gen.go openapi.json
