// Placeholder until the mock lands; replaced by the mock server sources.
namespace keyrevoke::mock {}
