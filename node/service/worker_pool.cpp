#include "node/service/worker_pool.hpp"

#include "node/net/log.hpp"

namespace node::service {

net::http_response failed_answer(const std::string& path, const std::string& why) {
  net::log::error("handler_failed").kv("path", path).kv("reason", why);
  return net::http_response::error(500, "internal", "the server failed to answer this request; the node log has the details");
}

worker_pool::worker_pool(unsigned threads) {
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

worker_pool::~worker_pool() { stop(); }

void worker_pool::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void worker_pool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (...) {
      net::log::error("worker_failed").kv("reason", "a deferred answer could not be handed back");
    }
  }
}

net::http_response worker_pool::defer(std::function<net::http_response(const net::http_request&)> fn,
                                      net::http_request& req) {
  std::string body = std::move(req.body);
  net::http_request mine = req;
  mine.body = std::move(body);
  net::http_response r;
  r.later = [this, fn = std::move(fn), req = std::move(mine)](std::function<void(net::http_response)> done) mutable {
    std::lock_guard lk(mu_);
    jobs_.push_back([fn = std::move(fn), req = std::move(req), done = std::move(done)] {
      net::http_response answer;
      try {
        answer = fn(req);
      } catch (const std::exception& e) {
        answer = failed_answer(req.path, e.what());
      } catch (...) {
        answer = failed_answer(req.path, "an unknown error");
      }
      done(std::move(answer));  // once, outside the try: an answer is never sent twice
    });
    cv_.notify_one();
  };
  return r;
}

void worker_pool::post(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

}  // namespace node::service
