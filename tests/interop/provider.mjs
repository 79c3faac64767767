// A real OpenID provider (the `oidc-provider` package) for tokengate's interop suite.
// Started by tests/interop.rs; stopped by its PID. Listens on a random loopback port and
// prints one JSON line, {"issuer": ...}, once it is ready. Development settings only.
//
// - client `interop-client` (client_secret_basic): the client credentials grant;
// - client `resource-server` (client_secret_basic): introspects tokens (the API);
// - resource https://api.tokengate.test/jwt: RFC 9068 JWT access tokens (RS256, at+jwt);
// - resource https://api.tokengate.test/opaque: opaque access tokens;
// - introspection and revocation enabled; access tokens live 300 s.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

export const JWT_RESOURCE = 'https://api.tokengate.test/jwt';
export const OPAQUE_RESOURCE = 'https://api.tokengate.test/opaque';
const SCOPE = 'orders:read';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'interop-rs256', alg: 'RS256', use: 'sig' };

const resources = {
  [JWT_RESOURCE]: { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } },
  [OPAQUE_RESOURCE]: { accessTokenFormat: 'opaque' },
};

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [
    {
      client_id: 'interop-client',
      client_secret: 'interop-client-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'resource-server',
      client_secret: 'resource-server-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  scopes: [SCOPE],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // The resource server, or the token's own client.
      allowedPolicy: async (ctx, client, token) => client.clientId === 'resource-server' || client.clientId === token.clientId,
    },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => undefined,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resourceIndicator) => {
        const resource = resources[resourceIndicator];
        if (!resource) throw new errors.InvalidTarget();
        return { scope: SCOPE, audience: resourceIndicator, accessTokenTTL: 300, ...resource };
      },
    },
  },
});

server.on('request', provider.callback());
process.on('SIGTERM', () => server.close(() => process.exit(0)));
console.log(JSON.stringify({ issuer, jwt_resource: JWT_RESOURCE, opaque_resource: OPAQUE_RESOURCE }));
