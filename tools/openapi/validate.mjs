// Validates an OpenAPI document with @apidevtools/swagger-parser (schema
// and semantics: unique operationIds, resolvable $refs, path parameters).
// Usage: node validate.mjs FILE. Prints one JSON line; exit 1 if invalid.
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs openapi.json");
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(file);
  const ops = Object.values(api.paths).flatMap((p) => Object.keys(p)).length;
  console.log(JSON.stringify({ valid: true, openapi: api.openapi, title: api.info.title, operations: ops }));
} catch (err) {
  console.log(JSON.stringify({ valid: false, error: String(err && err.message ? err.message : err) }));
  process.exit(1);
}
