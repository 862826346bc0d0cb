import Redis

extension CommonOptions {
    /// TLS for HERALD_REDIS_URL from the HERALD_REDIS_TLS_… settings, its files loaded now (at start, off any event
    /// loop); nil for a plain `redis://` URL, which refuses them rather than connect without the TLS they ask for.
    func redisTLS(for url: RedisURL, _ resolver: SettingsResolver) throws -> RedisTLS? {
        let caFile = try resolver.optionalString(.redisTLSCAFile, flag: redisTLSCAFile)
        let certificateFile = try resolver.optionalString(.redisTLSCertFile, flag: redisTLSCertFile)
        let keyFile = try resolver.optionalString(.redisTLSKeyFile, flag: redisTLSKeyFile)
        let serverName = try resolver.optionalString(.redisTLSServerName, flag: redisTLSServerName)
        guard url.tls else {
            let given: [(SettingSpec, String?)] = [
                (.redisTLSCAFile, caFile), (.redisTLSCertFile, certificateFile), (.redisTLSKeyFile, keyFile), (.redisTLSServerName, serverName),
            ]
            if let (setting, _) = given.first(where: { $0.1 != nil }) {
                throw SettingError(setting, "is set, but \(SettingSpec.redisURL.name) is a plain redis:// URL; use rediss:// for TLS")
            }
            return nil
        }
        do {
            return try RedisTLS(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile, serverName: serverName, names: .settings)
        } catch {
            throw SettingError(SettingSpec.redisTLS(error.option), error.description)
        }
    }
}

extension RedisTLS.OptionNames {
    /// Messages about Redis TLS name the settings an operator sets.
    static let settings = RedisTLS.OptionNames(
        caFile: SettingSpec.redisTLSCAFile.name,
        certificateFile: SettingSpec.redisTLSCertFile.name,
        keyFile: SettingSpec.redisTLSKeyFile.name,
        serverName: SettingSpec.redisTLSServerName.name
    )
}

extension SettingSpec {
    /// The setting of one of `RedisTLS`'s options.
    static func redisTLS(_ option: RedisTLS.OptionError.Option) -> SettingSpec {
        switch option {
        case .caFile: .redisTLSCAFile
        case .certificateFile: .redisTLSCertFile
        case .keyFile: .redisTLSKeyFile
        case .serverName: .redisTLSServerName
        }
    }
}
