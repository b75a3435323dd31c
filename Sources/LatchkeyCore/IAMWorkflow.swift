import AWSClient

/// A sequence of IAM calls made for the user (enrolment, the boundary): an "access denied"
/// answer becomes the workflow's own error, naming the IAM action the user's policy lacks.
protocol IAMWorkflow {
    func permissionDenied(action: String, code: String) -> any Error
}

extension IAMWorkflow {
    func call<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw translated(error, operation: operation)
        }
    }

    func translated(_ error: any Error, operation: String) -> any Error {
        guard let code = (error as? AWSClientError)?.serviceError?.code,
            ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"].contains(code)
        else { return error }
        return permissionDenied(action: "iam:\(operation)", code: code)
    }
}
