import ArgumentParser

/// aws-vault (kingpin) takes a command's options anywhere before `--`:
/// `aws-vault exec prod --duration 2h -- terraform plan`. ArgumentParser gives everything after
/// `exec`'s profile to the command, so the options written there (up to `--` or the first word
/// that is not an option: the command) are moved in front of the profile before parsing. Each
/// one is recognised by parsing it with ArgumentParser itself, so a misspelt option or a bad
/// value is an error here, before any AWS call and before any MFA code is spent.
func withOptionsBeforeProfile(_ arguments: [String]) throws -> [String] {
    guard arguments.first == "exec" else { return arguments }
    var index = 1
    var options: [String] = []
    // The options before the profile, and the profile itself.
    while index < arguments.count, isOption(arguments[index]) {
        let width = try optionWidth(arguments, at: index)
        options += arguments[index..<index + width]
        index += width
    }
    guard index < arguments.count, arguments[index] != "--" else { return arguments }
    let profile = arguments[index]
    index += 1
    while index < arguments.count, isOption(arguments[index]) {
        let width = try optionWidth(arguments, at: index)
        options += arguments[index..<index + width]
        index += width
    }
    return ["exec"] + options + [profile] + arguments[index...]
}

private func isOption(_ word: String) -> Bool {
    word.hasPrefix("-") && word != "-" && word != "--"
}

/// 1 for a flag or `--name=value`, 2 for an option and its value; throws ArgumentParser's own
/// error for an unknown option, a missing value or a value that does not validate.
private func optionWidth(_ arguments: [String], at index: Int) throws -> Int {
    let word = arguments[index]
    if ["-h", "--help", "--version"].contains(word) { return 1 }
    let probe = "latchkey-probe-profile"
    if word.hasPrefix("--"), word.contains("=") {
        _ = try LatchkeyCommand.parseAsRoot(["exec", word, probe])
        return 1
    }
    if (try? LatchkeyCommand.parseAsRoot(["exec", word, probe])) != nil { return 1 }
    let next = index + 1 < arguments.count ? [arguments[index + 1]] : []
    if next == ["--"] || next.isEmpty {
        // An option that takes a value, given none; anything else is reported as ArgumentParser sees it.
        guard (try? LatchkeyCommand.parseAsRoot(["exec", word, "1h", probe])) != nil else {
            _ = try LatchkeyCommand.parseAsRoot(["exec", word, probe])
            return 1
        }
        throw ValidationError("\(word) needs a value: write it right after the option, before `--`.")
    }
    _ = try LatchkeyCommand.parseAsRoot(["exec", word] + next + [probe])
    return 2
}
