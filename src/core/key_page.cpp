#include "keyrevoke/core/key_page.hpp"

#include <boost/json.hpp>

namespace keyrevoke::core {

namespace json = boost::json;

namespace {

std::optional<std::string> string_field(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string{v->get_string()};
}

std::optional<double> number_field(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

std::optional<unix_micros> time_field(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  const json::string& s = v->get_string();
  return parse_timestamp(std::string_view{s.data(), s.size()});
}

}  // namespace

std::optional<key_page> parse_key_page(std::string_view body) {
  json::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) return std::nullopt;
  const json::object* top = root.if_object();
  const json::value* data = top != nullptr ? top->if_contains("data") : nullptr;
  const json::array* items = data != nullptr ? data->if_array() : nullptr;
  if (items == nullptr) return std::nullopt;

  key_page page;
  page.entries.reserve(items->size());
  page.fields.reserve(items->size());
  page.json.reserve(items->size());
  for (const json::value& item : *items) {
    list_entry entry;
    key_fields fields;
    std::string text;
    if (const json::object* obj = item.if_object()) {
      text = json::serialize(*obj);
      const json::value* hash = obj->if_contains("hash");
      std::optional<key_hash> parsed;
      if (hash != nullptr && hash->is_string()) {
        const json::string& s = hash->get_string();
        parsed = parse_key_hash(std::string_view{s.data(), s.size()});
      }
      entry.usable = parsed.has_value();
      if (parsed) entry.hash = *parsed;
      fields.name = string_field(*obj, "name");
      fields.label = string_field(*obj, "label");
      if (const json::value* d = obj->if_contains("disabled"); d != nullptr && d->is_bool())
        fields.disabled = d->get_bool();
      fields.usage = number_field(*obj, "usage");
      fields.created_at = time_field(*obj, "created_at");
      fields.updated_at = time_field(*obj, "updated_at");
      entry.created_at = fields.created_at;
    } else {
      entry.usable = false;
    }
    if (!entry.usable) ++page.unusable;
    page.entries.push_back(entry);
    page.fields.push_back(std::move(fields));
    page.json.push_back(std::move(text));
  }
  return page;
}

}  // namespace keyrevoke::core
