// The API reference page: Swagger UI (served from node_modules, no CDN) over the API's own /openapi.json.
// In a file of its own rather than inline, so the page's Content-Security-Policy allows scripts from 'self' only.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  // The document is generated from the validating schemas; no remote validator badge (it would call a third party).
  validatorUrl: null,
  tryItOutEnabled: false,
});
