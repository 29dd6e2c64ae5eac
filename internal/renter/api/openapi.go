package api

import "net"

// OpenAPI 3.0 schemas of the routes, and the document served at
// /openapi.json. routeTable is the single source of the route list.

type obj = map[string]any

// operationIDs names each operation for generated clients (oapi-codegen,
// openapi-typescript): camelCase, unique, stable. Renaming one renames
// the method of every generated client, so treat them as part of the API.
// TestOpenAPI fails when a route lacks one.
var operationIDs = map[string]string{
	"/service/allocate_spec":       "allocateSpec",
	"/service/allocate_hotkey":     "allocateHotkey",
	"/service/deallocate":          "deallocate",
	"/service/check_miner_status":  "checkMinerStatus",
	"/service/restart_docker":      "restartContainer",
	"/service/pause_docker":        "pauseContainer",
	"/service/unpause_docker":      "unpauseContainer",
	"/service/exchange_docker_key": "exchangeSSHKey",
	"/list/allocations_sql":        "listAllocations",
	"/list/resources_sql":          "listResources",
	"/list/count_all_gpus":         "countGPUs",
	"/list/count_all_by_model":     "countGPUsByModel",
	"/list/available":              "listAvailable",
	"/list/allocated_hotkeys":      "listAllocatedHotkeys",
	"/healthz":                     "health",
	"/openapi.json":                "openAPIDocument",
}

// defaultServer is the API's URL with the default --api.addr, seen from
// the same host.
func defaultServer() string {
	_, port, _ := net.SplitHostPort(DefaultConfig().Addr)
	return "https://" + net.JoinHostPort("127.0.0.1", port)
}

func object(required []string, props obj) obj {
	o := obj{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func intRange(lo, hi int64, desc string) obj {
	return obj{"type": "integer", "format": "int64", "minimum": lo, "maximum": hi, "description": desc}
}

var (
	str        = obj{"type": "string"}
	integer    = obj{"type": "integer"}
	number     = obj{"type": "number"}
	boolean    = obj{"type": "boolean"}
	dateTime   = obj{"type": "string", "format": "date-time"}
	hotkeyProp = obj{"type": "string", "pattern": `^[1-9A-HJ-NP-Za-km-z]{46,48}$`, "description": "SS58 hotkey"}
	sshKeyProp = obj{"type": "string", "maxLength": 8192, "description": "OpenSSH public key (one line)"}

	hotkeySchema      = object([]string{"hotkey"}, obj{"hotkey": hotkeyProp})
	exchangeKeySchema = object([]string{"hotkey", "ssh_key"}, obj{"hotkey": hotkeyProp, "ssh_key": sshKeyProp})
	hotkeysReqSchema  = object([]string{"hotkeys"}, obj{"hotkeys": obj{"type": "array", "minItems": 1, "maxItems": maxHotkeys, "items": hotkeyProp}})

	allocationSchema = object(nil, obj{"hotkey": str, "host": str, "port": integer, "username": str,
		"password": str, "ssh_command": str, "deadline": dateTime, "known_hosts": str})
	deallocateSchema = object(nil, obj{"hotkey": str, "deallocated": boolean})
	actionSchema     = object(nil, obj{"hotkey": str, "action": obj{"type": "string", "enum": []string{"restart", "pause", "unpause", "exchange_key"}}, "ok": boolean})
	statusSchema     = object(nil, obj{"miners": obj{"type": "array", "items": object(nil, obj{"hotkey": str,
		"status": obj{"type": "string", "enum": []string{"online", "offline", "paused", "stopped", "not_allocated"}}})}})
	allocationsSchema = object(nil, obj{"allocations": obj{"type": "array", "items": object(nil, obj{"hotkey": str, "host": str,
		"port": integer, "created": dateTime, "deadline": dateTime,
		"status": obj{"type": "string", "enum": []string{"online", "offline", "paused", "stopped", "unknown"}}})}})
	resourcesSchema = object(nil, obj{"resources": obj{"type": "array", "items": object(nil, obj{
		"hotkey":              str,
		"gpu_name":            obj{"type": "string", "description": "GPU model the miner claims"},
		"gpu_memory_gb":       number,
		"gpu_count":           obj{"type": "integer", "description": "GPUs the miner claims"},
		"vcpus":               integer,
		"ram_gb":              number,
		"disk_gb":             number,
		"allocated":           boolean,
		"verified":            obj{"type": "boolean", "description": "the miner's latest proof-of-GPU verdict passed"},
		"verified_model":      obj{"type": "string", "description": "model the latest verdict proved (only when verified)"},
		"verified_gpus":       obj{"type": "integer", "description": "GPUs the latest verdict proved (only when verified)"},
		"verdict_age_s":       obj{"type": "number", "description": "age of the latest verdict in seconds; -1 when the miner has none"},
		"verdict_block":       obj{"type": "integer", "description": "block the latest verdict's proof started at (absent without a verdict)"},
		"verdict_failed_step": obj{"type": "string", "description": "step a failed latest verdict failed at: allocate, connect, identify, work, open, fill, pass, open_mem"},
	})}})
	// resourceParams are the query parameters of the resource listings.
	resourceParams = []obj{
		{"name": "verified", "in": "query", "required": false, "schema": boolean,
			"description": "true: only miners whose latest proof-of-GPU verdict passed; false (the default): all. Another value is a 400 invalid_parameter"},
		{"name": "verified_model", "in": "query", "required": false, "schema": obj{"type": "string", "minLength": 1, "maxLength": maxGPUType},
			"description": "only miners whose latest verdict passed and proved this model: the whole name, case-insensitive (e.g. NVIDIA H100 80GB HBM3); implies verified=true, and conflicts with verified=false (400 invalid_parameter)"},
	}
	gpuCountSchema = object(nil, obj{"gpu_count": integer})
	byModelSchema  = object(nil, obj{"models": obj{"type": "array", "items": object(nil, obj{"gpu_name": str, "gpu_count": integer})}})
	hotkeysSchema  = object(nil, obj{"hotkeys": obj{"type": "array", "items": str}})
	errorSchema    = object([]string{"error"}, obj{"error": object([]string{"code", "message"}, obj{"code": str, "message": str})})
)

func specSchema(withHotkey bool) obj {
	props := obj{
		"cpu_count":      intRange(0, maxCPUCount, "CPU cores; 0: any"),
		"gpu_count":      intRange(0, maxGPUCount, "GPUs; 0: any"),
		"gpu_type":       obj{"type": "string", "maxLength": maxGPUType, "description": "GPU model substring; empty: any"},
		"gpu_memory_mib": intRange(0, maxGPUMemoryMiB, "memory per GPU in MiB; 0: any"),
		"ram_bytes":      intRange(0, maxRAMBytes, "RAM in bytes; 0: any"),
		"disk_bytes":     intRange(0, maxDiskBytes, "disk in bytes; 0: any"),
		"timeline":       intRange(1, maxTimeline, "rental length in minutes"),
		"ssh_key":        sshKeyProp,
	}
	req := []string{"timeline"}
	if withHotkey {
		props["hotkey"] = hotkeyProp
		req = []string{"hotkey", "timeline"}
	}
	return object(req, props)
}

func errResponse(desc string) obj {
	return obj{"description": desc, "content": obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/Error"}}}}
}

// openAPI builds the OpenAPI 3.0 document of the API.
func openAPI() obj {
	paths := obj{}
	for _, rt := range routeTable() {
		op := obj{
			"operationId": operationIDs[rt.path],
			"summary":     rt.summary,
			"security":    []obj{{"bearer": []string{}}}, // or mutual TLS, which OpenAPI 3.0 cannot express
			"responses": obj{
				"200": obj{"description": "OK", "content": obj{"application/json": obj{"schema": rt.resp}}},
				"400": errResponse("invalid JSON, unknown field or field out of range"),
				"401": errResponse("not authenticated"),
				"404": errResponse("no_match, unknown_hotkey or not_allocated; the message says why"),
				"409": errResponse("already_allocated or refused; the message says why"),
				"413": errResponse("body too large"),
				"422": errResponse("invalid_request: the miner or the renter found the request invalid; the message says why"),
				"500": errResponse("internal error (the message carries only a request id)"),
			},
		}
		if rt.req != nil {
			op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": rt.req}}}
		} else {
			op["requestBody"] = obj{"required": false, "content": obj{"application/json": obj{"schema": object(nil, obj{})}}}
		}
		if rt.params != nil {
			op["parameters"] = rt.params
			op["responses"].(obj)["400"] = errResponse("invalid JSON or unknown field (invalid_json, unknown_field), or a bad, repeated or unknown query parameter (invalid_parameter)")
		}
		if rt.mutating {
			op["parameters"] = []obj{{"name": "Idempotency-Key", "in": "header", "required": false,
				"description": "replays the first answer for a repeat of the same request; another body gets 422. Use a random UUID: the stored answer is sealed under a key derived from it",
				"schema":      obj{"type": "string", "maxLength": 255}}}
			op["responses"].(obj)["422"] = errResponse("invalid_request (the message says why), or idempotency_key_reused: Idempotency-Key reused with another route or body")
		}
		paths[rt.path] = obj{"post": op}
	}
	methodNotAllowed := errResponse("method_not_allowed: use GET or HEAD")
	paths["/healthz"] = obj{"get": obj{"operationId": operationIDs["/healthz"], "summary": "Liveness (no authentication)", "security": []obj{},
		"responses": obj{"200": obj{"description": "OK", "content": obj{"application/json": obj{"schema": object(nil, obj{"status": str})}}},
			"405": methodNotAllowed}}}
	paths["/openapi.json"] = obj{"get": obj{"operationId": operationIDs["/openapi.json"], "summary": "This document (no authentication)", "security": []obj{},
		"responses": obj{"200": obj{"description": "OpenAPI 3.0 document", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}},
			"405": methodNotAllowed}}}
	return obj{
		"openapi": "3.0.3",
		"info": obj{"title": "SN27 renter API", "version": "1.0.0",
			"description": "Rent SN27 miners. Authenticate with a client certificate signed by the configured CA (mutual TLS; every route accepts it in place of the bearer key) or Authorization: Bearer <key>. Webhooks: allocation.ended and allocation.status, signed with X-SN27-Signature: sha256=<hex HMAC-SHA256 of the body>.",
			// As packaging/nfpm.yaml says; the repository has no LICENSE file.
			"license": obj{"name": "Proprietary"}},
		"servers": []obj{{"url": defaultServer(), "description": "sn27 api with the default --api.addr, on the same host (HTTPS; the certificate is --api.cert)"}},
		"paths":   paths,
		"components": obj{
			"schemas": obj{"Error": errorSchema},
			"securitySchemes": obj{
				"bearer": obj{"type": "http", "scheme": "bearer"},
			},
		},
	}
}

// OpenAPI returns the OpenAPI document exactly as GET /openapi.json serves it.
func OpenAPI() []byte { return encode(openAPI()) }
