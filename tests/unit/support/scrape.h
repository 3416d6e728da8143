// A test's scrape of a real collector's /metrics over loopback, and one series' value in it.
#pragma once

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <string>

namespace ccmon::test_support {

// The /metrics text of the collector listening on 127.0.0.1:port (a failed request fails the
// test and gives an empty text).
inline std::string ScrapeMetrics(int port) {
  std::string body;
  CURL* curl = curl_easy_init();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* p, std::size_t size, std::size_t n, void* out) {
        static_cast<std::string*>(out)->append(p, size * n);
        return size * n;
      });
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  EXPECT_EQ(rc, CURLE_OK);
  return body;
}

// The value of `series` (name and labels as exported) in an exposition, or -1 when absent.
inline double SeriesValue(const std::string& body, const std::string& series) {
  const std::size_t at = body.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
}

}  // namespace ccmon::test_support
