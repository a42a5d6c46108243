// The platform's Iceberg REST catalog: Apache Iceberg's own RESTCatalogAdapter + RESTCatalogServlet
// (from iceberg-core's test jar, the code the canonical Spark+Iceberg quickstart serves) in front of
// the platform's JdbcCatalog, with bearer-token access control the upstream servlet lacks.
//
// Why a wrapper: the upstream servlet accepts every request. Here each identity has its own token;
// a read-only identity may GET/HEAD and POST only to read endpoints (scan planning, metrics
// reports), so it cannot create, commit to, rename or drop anything.
//
// Configuration comes from a Java properties file (mode 0600) named by LAKEHOUSE_REST_CONFIG, never
// from the command line (any local user can read a command line):
//   server.port, catalog.name, catalog.<property> (passed to the JdbcCatalog),
//   token.<identity>=<token>, readonly=<identity>[,<identity>...]
// Compiled by platform_defs.rest_catalog.build (javac) into a cache outside the repository.

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

public final class LakehouseRestCatalog {
  private LakehouseRestCatalog() {}

  /**
   * POSTs a read-only identity may make: scan planning and metrics reports on a table, which read
   * or report and change nothing. Anchored on the whole route, so a table named "metrics" or
   * "plan" (whose commit is POST .../tables/metrics) is not mistaken for one.
   */
  private static final Pattern READ_POSTS =
      Pattern.compile(
          "^/v1/(?:[^/]+/)?namespaces/[^/]+/tables/[^/]+/(?:plan|plan/[^/]+|tasks|metrics)$");

  static final class AuthServlet extends HttpServlet {
    private final HttpServlet inner;
    private final Map<String, byte[]> tokens;
    private final Set<String> readOnly;

    AuthServlet(HttpServlet inner, Map<String, byte[]> tokens, Set<String> readOnly) {
      this.inner = inner;
      this.tokens = tokens;
      this.readOnly = readOnly;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      String path = req.getRequestURI();
      if ("/healthz".equals(path)) {
        resp.setStatus(200);
        resp.setContentType("text/plain");
        resp.getWriter().write("ok");
        return;
      }
      String identity = identify(req.getHeader("Authorization"));
      if (identity == null) {
        error(resp, 401, "NotAuthorizedException",
            "Missing or unknown bearer token. Use the token of an identity in "
                + "<state>/<namespace>/rest-catalog/tokens/ (python -m platform_defs.cli "
                + "rest-token <identity>), sent as `Authorization: Bearer <token>` (pyiceberg: "
                + "token=..., Spark: spark.sql.catalog.<name>.token).");
        return;
      }
      String method = req.getMethod();
      boolean reads = "GET".equals(method) || "HEAD".equals(method)
          || ("POST".equals(method) && READ_POSTS.matcher(path).matches());
      if (readOnly.contains(identity) && !reads) {
        error(resp, 403, "ForbiddenException",
            "Identity '" + identity + "' is read-only on this catalog: " + method + " " + path
                + " would change it (create, commit, rename or drop). Write as the 'spark' "
                + "identity (platform_defs.connect.catalog(write=True)).");
        return;
      }
      try {
        inner.service(req, resp);
      } catch (jakarta.servlet.ServletException e) {
        throw new IOException(e);
      }
    }

    private String identify(String header) {
      if (header == null || !header.startsWith("Bearer ")) {
        return null;
      }
      byte[] given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
      String found = null;
      for (Map.Entry<String, byte[]> entry : tokens.entrySet()) {
        if (MessageDigest.isEqual(entry.getValue(), given)) { // constant time per token
          found = entry.getKey();
        }
      }
      return found;
    }

    private static void error(HttpServletResponse resp, int code, String type, String message)
        throws IOException {
      resp.setStatus(code);
      resp.setContentType("application/json");
      String escaped = message.replace("\\", "\\\\").replace("\"", "\\\"");
      resp.getWriter().write(
          "{\"error\":{\"message\":\"" + escaped + "\",\"type\":\"" + type + "\",\"code\":"
              + code + "}}");
    }
  }

  public static void main(String[] args) throws Exception {
    String configPath = System.getenv("LAKEHOUSE_REST_CONFIG");
    if (configPath == null) {
      throw new IllegalStateException("LAKEHOUSE_REST_CONFIG (a properties file) is not set");
    }
    Properties props = new Properties();
    try (InputStream in = Files.newInputStream(Paths.get(configPath))) {
      props.load(in);
    }
    Map<String, String> catalogProps = new HashMap<>();
    Map<String, byte[]> tokens = new HashMap<>();
    Set<String> readOnly = new HashSet<>();
    for (String key : props.stringPropertyNames()) {
      String value = props.getProperty(key);
      if (key.startsWith("catalog.") && !"catalog.name".equals(key)) {
        catalogProps.put(key.substring("catalog.".length()), value);
      } else if (key.startsWith("token.")) {
        tokens.put(key.substring("token.".length()), value.getBytes(StandardCharsets.UTF_8));
      }
    }
    for (String name : props.getProperty("readonly", "").split(",")) {
      if (!name.isBlank()) {
        readOnly.add(name.trim());
      }
    }
    if (tokens.isEmpty()) {
      throw new IllegalStateException("no token.<identity> in " + configPath);
    }
    Catalog catalog =
        CatalogUtil.buildIcebergCatalog(props.getProperty("catalog.name"), catalogProps, null);
    RESTCatalogAdapter adapter = new RESTCatalogAdapter(catalog);
    HttpServlet rest = new RESTCatalogServlet(adapter);

    int port = Integer.parseInt(props.getProperty("server.port"));
    Server server = new Server(new InetSocketAddress("127.0.0.1", port));
    ServletContextHandler context = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    context.addServlet(new ServletHolder(new AuthServlet(rest, tokens, readOnly)), "/*");
    server.setHandler(context);
    server.setStopAtShutdown(true);
    server.start();
    System.out.println("lakehouse REST catalog listening on http://127.0.0.1:" + port);
    server.join();
  }
}
