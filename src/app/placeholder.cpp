// Placeholder until the client lands.
namespace keyrevoke::app {}
