import { memoryStore } from '../../src/stores/store.js'
import { testStore } from './suite.js'

testStore('memory', { create: async () => ({ store: memoryStore(10) }) })
