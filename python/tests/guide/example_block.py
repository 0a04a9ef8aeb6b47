from redis_manager import get_redis_manager

# Initialize manager
redis = get_redis_manager()

# Session management
redis.set_session("user_123", {"name": "John", "role": "admin"}, ttl=3600)
session = redis.get_session("user_123")

# Content caching
redis.cache_content("draft_456", "Blog post content here", ttl=86400)
content = redis.get_cached_content("draft_456")

# API response caching
redis.cache_search_results("AI marketing trends", results_list, ttl=3600)
cached = redis.get_cached_search_results("AI marketing trends")

# Job queueing
redis.enqueue_job("content_generation", {"campaign_id": 1, "type": "blog"})
job = redis.dequeue_job("content_generation", timeout=5)

# Rate limiting
allowed = redis.check_rate_limit("api_linkedin", max_requests=100, window_seconds=3600)
if allowed:
    # Make API call
    pass
else:
    # Rate limited
    pass

# Agent conversation memory
redis.store_agent_conversation("campaign_1", "research_agent", conversation_history)
history = redis.get_agent_conversation("campaign_1", "research_agent")
