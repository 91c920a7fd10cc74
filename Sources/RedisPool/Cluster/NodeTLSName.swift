/// The name each cluster node's certificate is checked against (and sent as SNI).
///
/// ElastiCache announces cluster nodes by IP address, and every node's certificate carries the
/// cluster's wildcard name (`*.my-cluster.abc123.use1.cache.amazonaws.com`), which also covers
/// the configuration endpoint (`clustercfg.my-cluster...`) but no IP. So, in order:
/// - `REDIS_TLS_SERVER_NAME` when set: the one name every node's certificate must carry;
/// - a node announced by host name: that name;
/// - a node announced by IP, reached through a configuration endpoint given by name: the
///   configuration endpoint's name (the wildcard matches it);
/// - otherwise the node's IP address, checked against the certificate's IP addresses.
enum NodeTLSName {
    static func serverName(explicit: String?, configurationEndpoint: String, nodeHost: String) -> String {
        if let explicit { return explicit }
        if !TLSTransport.isIPAddress(nodeHost) { return nodeHost }
        if !TLSTransport.isIPAddress(configurationEndpoint) { return configurationEndpoint }
        return nodeHost
    }
}
